-- The webhook process that receives an update records it already claimed by itself and
-- handles it at once (bot/webhook.py), unless its chat has another update still open
-- elsewhere: then it is recorded 'new' and waits for the claims, as before, so one
-- chat's updates still go in order. One call is one round trip and one commit.
--
-- The chat's advisory lock (transaction level, the two-key form: its own key space)
-- orders two processes recording updates of one chat at once; the check after it is a
-- statement of its own, so in READ COMMITTED it sees the other one's row once that is
-- committed (``status IN``: two probes of the index inbox_chat, however many handled
-- updates the chat has). Returns the status recorded, or NULL: it was there already.

CREATE FUNCTION fieldbot_inbox_take(
    p_update BIGINT, p_chat BIGINT, p_body TEXT, p_at TEXT, p_holder TEXT, p_until TEXT
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    taken TEXT := 'claimed';
BEGIN
    IF p_chat IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(1768841826, hashint8(p_chat));
        IF EXISTS (
            SELECT 1 FROM inbox
            WHERE chat_id = p_chat AND status IN ('new', 'claimed') AND update_id <> p_update
              AND (status = 'new' OR claimed_by <> p_holder OR lease_until < p_at)
        ) THEN
            taken := 'new';
        END IF;
    END IF;
    INSERT INTO inbox (update_id, chat_id, body, received_at, status, claimed_by,
                       lease_until, attempts)
    VALUES (p_update, p_chat, p_body, p_at, taken,
            CASE WHEN taken = 'claimed' THEN p_holder END,
            CASE WHEN taken = 'claimed' THEN p_until END,
            CASE WHEN taken = 'claimed' THEN 1 ELSE 0 END)
    ON CONFLICT (update_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN taken;
END
$$;
