-- Closing the loop with the people (回访): a problem that ended solved or explained is
-- called back a few workdays later; explained problems are asked about monthly while
-- they stay on the watch list; every reopening keeps its reason.

-- One call-back per closing of a problem (a reopened problem that closes again is
-- called back again): who was asked, what they recorded.
CREATE TABLE problem_callbacks (
    id INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    closed_at TEXT NOT NULL,                  -- UTC; the closing this call-back follows
    closed_status TEXT NOT NULL CHECK (closed_status IN ('solved', 'explained')),
    closed_level TEXT NOT NULL CHECK (closed_level IN ('group', 'team', 'office')),
    asked_id INTEGER REFERENCES cadres(id),   -- the reporter, or the group leader
    asked_at TEXT NOT NULL,                   -- UTC
    reminded_at TEXT,                         -- UTC; the one reminder
    listed_at TEXT,                           -- UTC; shown to the group leader as unanswered
    result TEXT CHECK (result IN ('satisfied', 'fair', 'unsatisfied')),
    reach TEXT CHECK (reach IN ('phone', 'visit', 'other')),
    note TEXT NOT NULL DEFAULT '',
    answered_id INTEGER REFERENCES cadres(id),
    answered_at TEXT,                         -- UTC
    answered_day TEXT,                        -- local date of the answer, for the figures
    reopened INTEGER NOT NULL DEFAULT 0,      -- 不满意 reopened the problem
    UNIQUE (problem_id, closed_at)
);
CREATE INDEX problem_callbacks_open ON problem_callbacks(answered_at, asked_at);
CREATE INDEX problem_callbacks_answered ON problem_callbacks(answered_day);

-- Every reopening (a call-back's 不满意, a watch-list 重新办理, conditions changed).
CREATE TABLE problem_reopens (
    id INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    at TEXT NOT NULL,                         -- UTC
    day TEXT NOT NULL,                        -- local date, for the figures
    actor_id INTEGER REFERENCES cadres(id),
    reporter_id INTEGER REFERENCES cadres(id),  -- the problem's reporter, for assessment
    cause TEXT NOT NULL CHECK (cause IN ('callback', 'watch', 'ledger')),
    level TEXT NOT NULL,
    callback_id INTEGER REFERENCES problem_callbacks(id),
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX problem_reopens_day ON problem_reopens(day);

-- The monthly question about an explained problem on the watch list.
CREATE TABLE problem_watch_checks (
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    month TEXT NOT NULL,                      -- local YYYY-MM
    asked_id INTEGER REFERENCES cadres(id),
    asked_at TEXT NOT NULL,
    answer TEXT CHECK (answer IN ('still', 'can', 'solved')),
    answered_id INTEGER REFERENCES cadres(id),
    answered_at TEXT,
    PRIMARY KEY (problem_id, month)
);
