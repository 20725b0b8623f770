-- A message that is only useful until a moment (an evening nudge is pointless the next
-- morning) carries expires_at; the dispatcher drops it, unsent, once that has passed.
ALTER TABLE outbox ADD COLUMN expires_at TEXT;
