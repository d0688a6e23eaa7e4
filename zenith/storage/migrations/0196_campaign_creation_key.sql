-- The key of the dialogue that created a campaign (an admin's confirmation): unique, so
-- two presses of the same "Create" -- a double tap, two updates handled at once, a
-- redelivered one -- insert one draft; the second finds the first by its key. NULL for
-- campaigns created otherwise (the default program, scripts, tests).
ALTER TABLE campaigns ADD COLUMN creation_key text CHECK (length(creation_key) BETWEEN 1 AND 100);
CREATE UNIQUE INDEX campaigns_creation_key ON campaigns (creation_key) WHERE creation_key IS NOT NULL;
