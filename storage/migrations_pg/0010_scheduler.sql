-- Reminder pauses (/mute) and the last due moment each scheduled job handled, so that a
-- restart neither repeats a run nor forgets one missed while the bot was down.

CREATE TABLE reminder_mutes (
    cadre_id BIGINT PRIMARY KEY REFERENCES cadres(id),
    until TEXT NOT NULL,                      -- UTC; reminders resume at this moment
    set_at TEXT NOT NULL
);

CREATE TABLE job_runs (
    job TEXT PRIMARY KEY,                     -- stable job id, e.g. 'evening-nudge'
    due_at TEXT NOT NULL,                     -- UTC; the occurrence handled last
    ran_at TEXT NOT NULL,                     -- UTC; when it was handled
    outcome TEXT NOT NULL CHECK (outcome IN ('done', 'skipped')),
    items BIGINT NOT NULL DEFAULT 0          -- outgoing messages it queued
);

-- The nightly job forgets old update ids by age.
CREATE INDEX processed_updates_at ON processed_updates(at);
