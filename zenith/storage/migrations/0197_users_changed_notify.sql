-- Bot processes keep the rows of creators who write to them in memory (one database
-- round trip less per update). Any change to a users row -- from the bot, an actor, an
-- admin or psql -- is announced on commit, and every bot process drops that row.
-- The payload is the row's Telegram id, the key the bot looks rows up by. A change of
-- last_seen_at alone (the bot's hourly "seen" mark) is not announced: a kept row with an
-- older mark only makes the bot look once more.
CREATE FUNCTION users_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'last_seen_at') = (to_jsonb(NEW) - 'last_seen_at') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('zenith_users_changed', OLD.telegram_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_changed_notify
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_changed_notify();
