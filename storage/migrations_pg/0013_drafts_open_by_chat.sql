-- "Has this person another report open in this chat?" is asked when a flow starts and
-- when a dialog takes text. Without an index it read every draft ever written (about
-- 3.5 ms at 100,000 drafts, growing all campaign); open drafts are few.
CREATE INDEX drafts_open_by_chat ON drafts(chat_id, user_id) WHERE status = 'open';
