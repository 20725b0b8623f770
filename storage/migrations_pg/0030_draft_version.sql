-- A bot process keeps the open drafts it serves in memory (storage/drafts.current) and
-- serves one only while its version is still the row's: one small read checks that, in
-- the same statement as the people generation (storage/people.sender), instead of
-- reading and parsing the draft on every update. Every change to a draft row bumps its
-- version, whoever writes it: the step engine does so in its own statement, and this
-- trigger covers any other writer (another bot process, a tool, a hand-made UPDATE).

ALTER TABLE drafts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bump_draft_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER drafts_version BEFORE UPDATE ON drafts
FOR EACH ROW
WHEN (NEW.version = OLD.version)
EXECUTE FUNCTION bump_draft_version();
