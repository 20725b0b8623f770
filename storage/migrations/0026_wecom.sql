-- The WeCom (企业微信) channel (docs/wecom.md). The core keys people and chats on integer
-- ids (telegram_bindings.telegram_user_id, outbox.chat_id, bound_chats.chat_id); a WeCom
-- member or app chat gets one in a range no Telegram id reaches: 2^52 + id for a member,
-- -(2^52 + id) for an app chat, so services, storage, the ladder and the reports work
-- unchanged.

CREATE TABLE wecom_accounts (
    id INTEGER PRIMARY KEY,                 -- the internal id is 2^52 + id (or its negative)
    kind TEXT NOT NULL CHECK (kind IN ('member', 'appchat')),
    external_id TEXT NOT NULL,              -- the directory userid, or the appchat chatid
    phone TEXT,                             -- the roster phone it was found for (member)
    created_at TEXT NOT NULL,               -- UTC
    UNIQUE (kind, external_id)
);

-- Callbacks, written durably before WeCom gets its 200 (bot/wecom/callback.py), then
-- handled in order. WeCom retries an unanswered callback up to 3 times: the same
-- MsgId (or member + time + event for an event) hits the unique key and changes nothing.
CREATE TABLE wecom_inbound (
    id INTEGER PRIMARY KEY,                 -- the update id the core sees is 2^52 + id
    dedupe_key TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    body TEXT NOT NULL,                     -- the parsed callback as JSON; emptied when done
    received_at TEXT NOT NULL,              -- UTC
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done')),
    done_at TEXT
);
CREATE INDEX wecom_inbound_open ON wecom_inbound (status, id);

-- What the bot showed on WeCom, so that a card's press refers to a message the core
-- knows, and an edit finds the cards that show it.
CREATE TABLE wecom_messages (
    id INTEGER PRIMARY KEY,                 -- the message_id the core sees
    chat_id BIGINT NOT NULL,                -- internal id of the member or app chat
    text TEXT NOT NULL,
    markup TEXT,                            -- the inline keyboard as JSON
    numbered INTEGER NOT NULL DEFAULT 0,    -- 1: its buttons were offered as typed numbers
    sent_at TEXT NOT NULL                   -- UTC
);
CREATE INDEX wecom_messages_chat ON wecom_messages (chat_id, id);

-- Every card a message was shown as, to whom (a card for an app chat goes to each of
-- its owners; an edit WeCom cannot apply in place is sent as a new card): a press on
-- any of them refers to the message, and its response code may update that card once.
CREATE TABLE wecom_tasks (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE,
    message_id BIGINT NOT NULL,
    user_id TEXT NOT NULL,                  -- the member the card was sent to
    response_code TEXT,                     -- unspent code that may update the card once
    code_at TEXT,                           -- UTC: when that code was given (72 h to use it)
    created_at TEXT NOT NULL                -- UTC
);
CREATE INDEX wecom_tasks_message ON wecom_tasks (message_id, user_id);
