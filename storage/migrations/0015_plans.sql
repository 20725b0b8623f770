-- Work plans (工作计划, 分到季排到月): items with a measure, owners (责任人) and progress.
-- An item belongs to a team, or to one of its groups (group_id set), optionally a place.
-- ``code`` is the clerk's number from the Excel file: a re-import updates by it and
-- keeps the item's progress.

CREATE TABLE plan_items (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    team_id INTEGER NOT NULL REFERENCES teams(id),
    group_id INTEGER REFERENCES groups(id),
    place_id INTEGER REFERENCES places(id),
    month TEXT NOT NULL,                      -- YYYY-MM
    quarter INTEGER NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    due_date TEXT NOT NULL,                   -- local date, YYYY-MM-DD
    title TEXT NOT NULL,
    measure TEXT NOT NULL DEFAULT '',
    target REAL,                              -- the measure's number (36 户: 36)
    unit TEXT NOT NULL DEFAULT '',
    kind TEXT CHECK (kind IS NULL OR kind IN ('policy', 'survey', 'party', 'service',
                                              'stability', 'enterprise')),
    status TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'doing', 'done', 'cancelled')),
    cancel_reason TEXT NOT NULL DEFAULT '',
    progress REAL NOT NULL DEFAULT 0,         -- the numbers reported so far, summed
    done_at TEXT,
    created_by INTEGER REFERENCES cadres(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX plan_items_team_due ON plan_items(team_id, due_date);
CREATE INDEX plan_items_group_due ON plan_items(group_id, due_date);
CREATE INDEX plan_items_due ON plan_items(due_date, status);

CREATE TABLE plan_owners (
    item_id INTEGER NOT NULL REFERENCES plan_items(id) ON DELETE CASCADE,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    PRIMARY KEY (item_id, cadre_id)
);
CREATE INDEX plan_owners_cadre ON plan_owners(cadre_id, item_id);

CREATE TABLE plan_progress (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES plan_items(id) ON DELETE CASCADE,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    amount REAL,                              -- towards the item's target, if given
    completes INTEGER NOT NULL DEFAULT 0,     -- this report marked the item done
    photos TEXT NOT NULL DEFAULT '[]',        -- JSON list of Telegram file ids
    draft_id INTEGER UNIQUE REFERENCES drafts(id)
);
CREATE INDEX plan_progress_item ON plan_progress(item_id, at);
