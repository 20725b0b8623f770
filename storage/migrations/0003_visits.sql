-- Visits (走访日志). Team and group are copied from the cadre at the time of the visit,
-- so that reports stay right when the roster changes.

CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    team_id INTEGER REFERENCES teams(id),
    group_id INTEGER REFERENCES groups(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    visit_date TEXT NOT NULL,                 -- local date, YYYY-MM-DD
    text TEXT NOT NULL,
    voice_file_id TEXT,
    people_met INTEGER,
    lat REAL,
    lon REAL,
    distance_km REAL,
    far INTEGER NOT NULL DEFAULT 0,           -- flagged for the group leader
    model_case INTEGER NOT NULL DEFAULT 0,    -- possible 典型
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    draft_id INTEGER UNIQUE REFERENCES drafts(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX visits_cadre_date ON visits(cadre_id, visit_date);
CREATE INDEX visits_date ON visits(visit_date);
CREATE INDEX visits_team_date ON visits(team_id, visit_date);
CREATE INDEX visits_group_date ON visits(group_id, visit_date);
CREATE INDEX visits_place ON visits(place_id, visit_date);

CREATE TABLE visit_kinds (
    visit_id INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('policy', 'survey', 'party', 'service', 'stability',
                                       'enterprise')),
    PRIMARY KEY (visit_id, kind)
) WITHOUT ROWID;
CREATE INDEX visit_kinds_kind ON visit_kinds(kind, visit_id);

CREATE TABLE visit_photos (
    visit_id INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    file_unique_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (visit_id, position)
) WITHOUT ROWID;
