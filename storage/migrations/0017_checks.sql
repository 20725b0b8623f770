-- Checking the work (检查日志, 现场督查): a check of a cadre's log for a period or of one
-- visit, the corrections (整改项) a check or an on-site inspection asks for, every step of
-- a correction, and the inspections themselves.

CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    inspector_id INTEGER NOT NULL REFERENCES cadres(id),
    group_id INTEGER NOT NULL REFERENCES groups(id),
    team_id INTEGER NOT NULL REFERENCES teams(id),
    day TEXT NOT NULL,                        -- local date of the inspection
    place TEXT NOT NULL,                      -- where: a place's name as typed
    findings TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX inspections_group ON inspections(group_id, day);

CREATE TABLE log_checks (
    id INTEGER PRIMARY KEY,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),       -- whose log
    checker_id INTEGER NOT NULL REFERENCES cadres(id),
    team_id INTEGER REFERENCES teams(id),                   -- the cadre's, when checked
    period_start TEXT NOT NULL,                             -- local dates, end exclusive
    period_end TEXT NOT NULL,
    visit_id INTEGER REFERENCES visits(id),                 -- set: one visit was checked
    verdict TEXT NOT NULL CHECK (verdict IN ('ok', 'fix')),
    comment TEXT NOT NULL DEFAULT '',
    checked_on TEXT NOT NULL,                               -- local date
    created_at TEXT NOT NULL
);
CREATE INDEX log_checks_cadre ON log_checks(cadre_id, checked_on);
CREATE INDEX log_checks_day ON log_checks(checked_on, team_id);

-- What a check (需整改) or an inspection asks to be put right, owned by one cadre.
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    check_id INTEGER REFERENCES log_checks(id),
    inspection_id INTEGER REFERENCES inspections(id),
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),       -- who puts it right
    checker_id INTEGER NOT NULL REFERENCES cadres(id),     -- who closes or sends it back
    team_id INTEGER REFERENCES teams(id),
    group_id INTEGER REFERENCES groups(id),
    text TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    due_at TEXT NOT NULL,                                   -- UTC
    due_on TEXT NOT NULL,                                   -- local date of due_at
    answer TEXT NOT NULL DEFAULT '',
    closed_at TEXT,
    closed_on TEXT,                                         -- local date
    created_on TEXT NOT NULL,                               -- local date
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((check_id IS NULL) <> (inspection_id IS NULL))
);
CREATE INDEX corrections_cadre ON corrections(cadre_id, status);
CREATE INDEX corrections_team ON corrections(team_id, status);
CREATE INDEX corrections_closed ON corrections(closed_on);

CREATE TABLE correction_photos (
    correction_id INTEGER NOT NULL REFERENCES corrections(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    PRIMARY KEY (correction_id, position)
);

CREATE TABLE correction_events (
    id INTEGER PRIMARY KEY,
    correction_id INTEGER NOT NULL REFERENCES corrections(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES cadres(id),
    action TEXT NOT NULL CHECK (action IN ('open', 'answer', 'close', 'send_back')),
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX correction_events_correction ON correction_events(correction_id, id);
