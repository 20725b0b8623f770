-- Plan completion under /summary counted from an index alone (the twin of
-- storage/migrations/0028_plan_completion.sql).
CREATE INDEX plan_items_completion ON plan_items(due_date, status, team_id, group_id);
