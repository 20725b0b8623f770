-- Who is writing is looked up for every update; a bot process keeps the answer in
-- memory (storage/people.sender) and serves it only while the people generation it was
-- read at is still the current one. Every change to what the answer is made of (the
-- roster, the bindings, saved languages, team and group names) bumps the generation in
-- the same transaction, by these triggers, whichever process or tool writes it: another
-- bot process sharing the database, a roster import, a join, a leave. An update that
-- changes none of those columns leaves the generation alone.

CREATE TABLE cache_generations (
    name TEXT PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0
);
INSERT INTO cache_generations (name, generation) VALUES ('people', 0);

CREATE TRIGGER people_generation_cadres_insert AFTER INSERT ON cadres
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_cadres_update AFTER UPDATE ON cadres
WHEN OLD.name IS NOT NEW.name
    OR OLD.phone IS NOT NEW.phone
    OR OLD.role IS NOT NEW.role
    OR OLD.team_id IS NOT NEW.team_id
    OR OLD.group_id IS NOT NEW.group_id
    OR OLD.unit IS NOT NEW.unit
    OR OLD.active IS NOT NEW.active
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_cadres_delete AFTER DELETE ON cadres
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_telegram_bindings_insert AFTER INSERT ON telegram_bindings
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_telegram_bindings_update AFTER UPDATE ON telegram_bindings
WHEN OLD.cadre_id IS NOT NEW.cadre_id
    OR OLD.telegram_user_id IS NOT NEW.telegram_user_id
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_telegram_bindings_delete AFTER DELETE ON telegram_bindings
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_user_prefs_insert AFTER INSERT ON user_prefs
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_user_prefs_update AFTER UPDATE ON user_prefs
WHEN OLD.telegram_user_id IS NOT NEW.telegram_user_id
    OR OLD.lang IS NOT NEW.lang
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_user_prefs_delete AFTER DELETE ON user_prefs
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_teams_insert AFTER INSERT ON teams
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_teams_update AFTER UPDATE ON teams
WHEN OLD.name IS NOT NEW.name
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_teams_delete AFTER DELETE ON teams
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_groups_insert AFTER INSERT ON groups
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_groups_update AFTER UPDATE ON groups
WHEN OLD.name IS NOT NEW.name
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;

CREATE TRIGGER people_generation_groups_delete AFTER DELETE ON groups
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
END;
