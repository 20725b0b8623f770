-- Who is writing is looked up for every update; a bot process keeps the answer in
-- memory (storage/people.sender) and serves it only while the people generation it was
-- read at is still the current one. Every change to what the answer is made of (the
-- roster, the bindings, saved languages, team and group names) bumps the generation in
-- the same transaction, by these triggers, whichever process or tool writes it: another
-- bot process sharing the database, a roster import, a join, a leave. An update that
-- changes none of those columns leaves the generation alone.
-- PostgreSQL: one trigger function bumps the generation; each trigger says when.

CREATE TABLE cache_generations (
    name TEXT PRIMARY KEY,
    generation BIGINT NOT NULL DEFAULT 0
);

INSERT INTO cache_generations (name, generation) VALUES ('people', 0);

CREATE FUNCTION bump_people_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_generations SET generation = generation + 1 WHERE name = 'people';
    RETURN NULL;
END;
$$;

CREATE TRIGGER people_generation_cadres_insert AFTER INSERT ON cadres
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_cadres_update AFTER UPDATE ON cadres
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.phone IS DISTINCT FROM NEW.phone OR OLD.role IS DISTINCT FROM NEW.role OR OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.group_id IS DISTINCT FROM NEW.group_id OR OLD.unit IS DISTINCT FROM NEW.unit OR OLD.active IS DISTINCT FROM NEW.active)
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_cadres_delete AFTER DELETE ON cadres
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_telegram_bindings_insert AFTER INSERT ON telegram_bindings
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_telegram_bindings_update AFTER UPDATE ON telegram_bindings
FOR EACH ROW
WHEN (OLD.cadre_id IS DISTINCT FROM NEW.cadre_id OR OLD.telegram_user_id IS DISTINCT FROM NEW.telegram_user_id)
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_telegram_bindings_delete AFTER DELETE ON telegram_bindings
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_user_prefs_insert AFTER INSERT ON user_prefs
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_user_prefs_update AFTER UPDATE ON user_prefs
FOR EACH ROW
WHEN (OLD.telegram_user_id IS DISTINCT FROM NEW.telegram_user_id OR OLD.lang IS DISTINCT FROM NEW.lang)
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_user_prefs_delete AFTER DELETE ON user_prefs
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_teams_insert AFTER INSERT ON teams
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_teams_update AFTER UPDATE ON teams
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_teams_delete AFTER DELETE ON teams
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_groups_insert AFTER INSERT ON groups
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_groups_update AFTER UPDATE ON groups
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION bump_people_generation();

CREATE TRIGGER people_generation_groups_delete AFTER DELETE ON groups
FOR EACH ROW
EXECUTE FUNCTION bump_people_generation();
