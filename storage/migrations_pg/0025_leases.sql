-- Named leases held by one bot process at a time: 'dispatcher' (the one process that
-- drains the outgoing queue and runs the scheduled jobs). The holder renews its row every
-- few seconds; once `until` has passed, another process may take it over.

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,                    -- 'host:pid:start' of the holding process
    until TEXT NOT NULL,                     -- UTC, microseconds; the lease ends then
    renewed_at TEXT NOT NULL,                -- UTC, microseconds
    term BIGINT NOT NULL DEFAULT 1          -- counts changes of holder (a fencing number)
);
