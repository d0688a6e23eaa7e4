-- Account rules of a campaign, checked at submission where the platform tells the figure
-- (domain.campaigns.ACCOUNT_FIGURES): the account's age in days and its followers /
-- subscribers. NULL or 0: no rule.
ALTER TABLE campaigns ADD COLUMN min_account_age_days integer CHECK (min_account_age_days >= 0);
ALTER TABLE campaigns ADD COLUMN min_followers integer CHECK (min_followers >= 0);
