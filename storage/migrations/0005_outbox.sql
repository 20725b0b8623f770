-- The outgoing queue: everything the bot sends on its own initiative, written in the same
-- transaction as the change that causes it, sent once by one dispatcher.

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,                 -- idempotency key
    chat_id INTEGER NOT NULL,
    method TEXT NOT NULL,                     -- sendMessage, editMessageText, sendPhoto, ...
    payload TEXT NOT NULL,                    -- JSON Bot API parameters (no chat_id)
    card TEXT,                                -- the card this item creates or edits
    urgent INTEGER NOT NULL DEFAULT 0,        -- may be sent in quiet hours
    not_before TEXT NOT NULL,                 -- UTC
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent',
                                                             'parked', 'superseded',
                                                             'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_message_id INTEGER,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(not_before, id) WHERE status = 'pending';
CREATE INDEX outbox_card ON outbox(card, status);

-- A card is a message kept up to date by edits (e.g. a problem's card in a team chat).
CREATE TABLE cards (
    card TEXT PRIMARY KEY,                    -- e.g. 'problem:45:team:-1001234'
    chat_id INTEGER NOT NULL,
    message_id INTEGER                        -- known once the creating item is sent
);

-- Chats that refused us (the user blocked the bot, the bot was removed from a group).
CREATE TABLE unreachable_chats (
    chat_id INTEGER PRIMARY KEY,
    since TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
