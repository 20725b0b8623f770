-- Model cases (典型): a visit a cadre flagged (visits.model_case = 1) that the office
-- selected, with a title and a short write-up. One selection per visit.

CREATE TABLE model_cases (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL UNIQUE REFERENCES visits(id),
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    title TEXT NOT NULL,
    writeup TEXT NOT NULL,
    selected_by INTEGER NOT NULL REFERENCES cadres(id),
    selected_at TEXT NOT NULL                  -- UTC
);
CREATE INDEX model_cases_selected ON model_cases(selected_at);
CREATE INDEX model_cases_cadre ON model_cases(cadre_id, selected_at);
