-- A cadre may be on both channels (Telegram and WeCom): their first account is in
-- telegram_bindings (what the bot sends on its own initiative goes there); the account
-- they joined with later, on the other channel, is here and acts as the same cadre.
-- One second account per cadre: one per other channel.

CREATE TABLE second_accounts (
    telegram_user_id BIGINT PRIMARY KEY,    -- the internal id of the second account
    cadre_id BIGINT NOT NULL UNIQUE REFERENCES cadres(id),
    via TEXT NOT NULL CHECK (via IN ('contact', 'invite')),
    bound_at TEXT NOT NULL                  -- UTC
);

-- Who is writing is cached per people generation (0023): a second account changes it.
CREATE TRIGGER people_generation_second_accounts_insert AFTER INSERT ON second_accounts
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_second_accounts_update AFTER UPDATE ON second_accounts
FOR EACH ROW
WHEN (OLD.cadre_id IS DISTINCT FROM NEW.cadre_id OR OLD.telegram_user_id IS DISTINCT FROM NEW.telegram_user_id)
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_second_accounts_delete AFTER DELETE ON second_accounts
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();
