-- A cadre may be on both channels (Telegram and WeCom): their first account is in
-- telegram_bindings (what the bot sends on its own initiative goes there); the account
-- they joined with later, on the other channel, is here and acts as the same cadre.
-- One second account per cadre: one per other channel.

CREATE TABLE second_accounts (
    telegram_user_id INTEGER PRIMARY KEY,   -- the internal id of the second account
    cadre_id INTEGER NOT NULL UNIQUE REFERENCES cadres(id),
    via TEXT NOT NULL CHECK (via IN ('contact', 'invite')),
    bound_at TEXT NOT NULL                  -- UTC
) WITHOUT ROWID;

-- Who is writing is cached per people generation (0023): a second account changes it.
CREATE TRIGGER people_generation_second_accounts_insert AFTER INSERT ON second_accounts
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_second_accounts_update AFTER UPDATE ON second_accounts
WHEN OLD.cadre_id IS NOT NEW.cadre_id
    OR OLD.telegram_user_id IS NOT NEW.telegram_user_id
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_second_accounts_delete AFTER DELETE ON second_accounts
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;
