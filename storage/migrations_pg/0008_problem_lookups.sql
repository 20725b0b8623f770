-- Lookups the problem ledger needs often: "my problems" (a cadre's reported and joined
-- problems), a problem's latest event of a kind (who moved, claimed or closed it), and
-- the watch list of explained problems.

CREATE INDEX problem_reporters_cadre ON problem_reporters(cadre_id, problem_id);
CREATE INDEX problem_events_action ON problem_events(problem_id, action, id);
CREATE INDEX problems_watch ON problems(watch, level) WHERE watch = 1;
