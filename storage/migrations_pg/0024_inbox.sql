-- Webhook updates, written durably before Telegram gets its HTTP 200 (bot/webhook.py),
-- then claimed by one bot process, handled, and marked done. A redelivered update hits
-- the primary key and changes nothing. docs/processes.md explains the claim and lease.

CREATE TABLE inbox (
    update_id BIGINT PRIMARY KEY,           -- Telegram's id; a redelivery is a no-op
    chat_id BIGINT,                          -- the chat it concerns (NULL: none), so that
                                             -- one chat's updates go to one process in order
    body TEXT NOT NULL,                      -- the update's JSON as Telegram posted it
    received_at TEXT NOT NULL,               -- UTC
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'claimed', 'done')),
    claimed_by TEXT,                         -- the process holding it ('host:pid:start')
    lease_until TEXT,                        -- UTC; after this another process may take it
    attempts BIGINT NOT NULL DEFAULT 0,     -- claims so far (> 1: taken over after a crash)
    done_at TEXT                             -- UTC
);

-- The claim reads the open ones in update order; the nightly clean-up drops done ones.
CREATE INDEX inbox_open ON inbox (status, update_id);
CREATE INDEX inbox_chat ON inbox (chat_id, status);

-- Several processes: before each update a process reads the sender's open drafts (their
-- conversations' steps) instead of trusting its memory (bot/persistence.py).
CREATE INDEX drafts_open_by_user ON drafts (user_id) WHERE status = 'open';
