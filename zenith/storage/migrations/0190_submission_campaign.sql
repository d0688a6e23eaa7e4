-- The campaign a creator picked when submitting is part of the submission, so a link the
-- clock re-sends (its wake-up was lost) still goes to that campaign. NULL: none was
-- picked; the submission actor takes the only open campaign the creator joined, else
-- the default program.
ALTER TABLE submissions ADD COLUMN campaign_id bigint REFERENCES campaigns (id);
