-- The problem ledger (问题台账) and its escalation ladder: group → team → office.

CREATE TABLE problems (
    id INTEGER PRIMARY KEY,                   -- shown as P-<id>
    reporter_id INTEGER NOT NULL REFERENCES cadres(id),
    team_id INTEGER REFERENCES teams(id),     -- the reporter's, when raised
    group_id INTEGER REFERENCES groups(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    category TEXT NOT NULL CHECK (category IN ('infrastructure', 'livelihood', 'industry',
                                               'land', 'disputes', 'party', 'enterprise',
                                               'other')),
    description TEXT NOT NULL,
    urgent INTEGER NOT NULL DEFAULT 0,
    level TEXT NOT NULL CHECK (level IN ('group', 'team', 'office')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'solved',
                                                          'explained')),
    owner_id INTEGER REFERENCES cadres(id),   -- who took it at the current level
    department TEXT,                          -- county department the office handed it to
    level_since TEXT NOT NULL,                -- UTC; when it reached the current level
    deadline TEXT NOT NULL,                   -- UTC; when the current level is overdue
    resolution TEXT,                          -- what was done, or why not and who told people
    explained_by TEXT,
    explained_on TEXT,                        -- local date the people were told
    closed_at TEXT,
    watch INTEGER NOT NULL DEFAULT 0,         -- explained problems stay on a watch list
    draft_id INTEGER UNIQUE REFERENCES drafts(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX problems_open ON problems(status, level, deadline);
CREATE INDEX problems_place ON problems(place_id, status);
CREATE INDEX problems_team ON problems(team_id, created_at);
CREATE INDEX problems_group ON problems(group_id, created_at);
CREATE INDEX problems_created ON problems(created_at);

CREATE TABLE problem_photos (
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    file_unique_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (problem_id, position)
) WITHOUT ROWID;

-- The reporter and everyone who joined as "same problem"; all are kept informed.
CREATE TABLE problem_reporters (
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    joined_at TEXT NOT NULL,
    PRIMARY KEY (problem_id, cadre_id)
) WITHOUT ROWID;

-- Every action on a problem: who, when, what, from which chat.
CREATE TABLE problem_events (
    id INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES cadres(id),   -- NULL: the bot itself (auto-escalation)
    chat_id INTEGER,
    action TEXT NOT NULL CHECK (action IN ('raise', 'join', 'claim', 'note', 'solve',
                                           'explain', 'escalate', 'hand_down',
                                           'auto_escalate', 'assign_department', 'reopen')),
    from_level TEXT,
    to_level TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX problem_events_problem ON problem_events(problem_id, at);
