-- A bot process keeps the open drafts it serves in memory (storage/drafts.current) and
-- serves one only while its version is still the row's: one small read checks that, in
-- the same statement as the people generation (storage/people.sender), instead of
-- reading and parsing the draft on every update. Every change to a draft row bumps its
-- version, whoever writes it: the step engine does so in its own statement, and this
-- trigger covers any other writer (another bot process, a tool, a hand-made UPDATE).

ALTER TABLE drafts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER drafts_version AFTER UPDATE ON drafts
WHEN NEW.version = OLD.version
BEGIN
    UPDATE drafts SET version = OLD.version + 1 WHERE id = NEW.id;
END;
