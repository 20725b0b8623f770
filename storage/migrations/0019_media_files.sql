-- Evidence kept off the chat platform: every photo and voice note of a visit or a problem
-- is noted here when it arrives (in the same transaction that stores it), and a
-- background worker downloads it into the media folder. ``path`` is relative to that
-- folder and made from ids only, never from anything a user typed or Telegram named.

CREATE TABLE media_files (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL CHECK (owner IN ('visit', 'problem')),
    owner_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('photo', 'voice')),
    position INTEGER NOT NULL DEFAULT 0,
    file_id TEXT NOT NULL,
    file_key TEXT NOT NULL,                   -- file_unique_id, or file_id when none is known
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'saved', 'too_big',
                                                            'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT NOT NULL,                -- UTC; a pending file is fetched from then
    size INTEGER,                             -- bytes, as Telegram gave it
    path TEXT,                                -- relative to the media folder, once saved
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner, owner_id, kind, file_key)
);
CREATE INDEX media_files_due ON media_files(status, next_try_at);
