-- Conversation drafts: what a cadre has typed so far in a step-by-step report, and the
-- step they are at. The draft table is the truth for every conversation: the
-- persistence layer rebuilds ConversationHandler state from open drafts at start.

CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    step TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'submitted', 'cancelled')),
    result_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX drafts_one_open ON drafts(kind, chat_id, user_id) WHERE status = 'open';
CREATE INDEX drafts_cadre ON drafts(cadre_id, kind, status);
