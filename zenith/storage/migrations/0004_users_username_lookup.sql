-- Admins look creators up by @username, in any case (`users.find_by_username`).
-- Not unique: Telegram usernames move between accounts, so an old row may still carry one.
CREATE INDEX users_username_lower ON users (lower(username), updated_at DESC) WHERE username IS NOT NULL;
