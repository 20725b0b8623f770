-- 督办: a higher level presses the owner of an open problem. Each urge is a row here
-- (how many times, by whom, when: the one-hour repeat guard reads it) and an 'urge'
-- event in the problem's history, so problem_events takes the new action. SQLite cannot
-- change a CHECK in place: the table is rebuilt with the same columns and indexes.

CREATE TABLE problem_urges (
    id INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES cadres(id),
    level TEXT NOT NULL,                      -- the problem's level when urged
    at TEXT NOT NULL
);
CREATE INDEX problem_urges_problem ON problem_urges(problem_id, at);

CREATE TABLE problem_events_new (
    id INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES cadres(id),   -- NULL: the bot itself (auto-escalation)
    chat_id INTEGER,
    action TEXT NOT NULL CHECK (action IN ('raise', 'join', 'claim', 'note', 'solve',
                                           'explain', 'escalate', 'hand_down',
                                           'auto_escalate', 'assign_department', 'reopen',
                                           'urge')),
    from_level TEXT,
    to_level TEXT,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO problem_events_new (id, problem_id, at, actor_id, chat_id, action, from_level,
                                to_level, note)
    SELECT id, problem_id, at, actor_id, chat_id, action, from_level, to_level, note
    FROM problem_events;
DROP TABLE problem_events;
ALTER TABLE problem_events_new RENAME TO problem_events;
CREATE INDEX problem_events_problem ON problem_events(problem_id, at);
CREATE INDEX problem_events_action ON problem_events(problem_id, action, id);
