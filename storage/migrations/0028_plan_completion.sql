-- Plan completion under /summary (done / due / overdue by team or group) counted from
-- an index alone: a county year is 17,000 items, each a table lookup without it.
CREATE INDEX plan_items_completion ON plan_items(due_date, status, team_id, group_id);
