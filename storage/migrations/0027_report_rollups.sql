-- Report roll-ups: what lets a month's /summary count a county's visits without reading
-- them (issue 14: month summary p95 <= 50 ms with plans at county scale).
--
-- report_cadre_days: active visits per day, cadre, team and group (team and group 0
-- stand for none). A row is there only while the cadre has an active visit that day,
-- so a cadre's days in the field are its rows. Kept by triggers on visits.
-- report_cadre_months: the same per calendar month (visits, and days in the field),
-- kept by triggers on report_cadre_days; a row goes when its days reach 0.
-- report_kind_months: report_kind_days (migration 0011) per calendar month, kept by
-- triggers on report_kind_days.
-- A period reads whole months from the month tables and its odd days from the day
-- tables: a month is about 1,000 rows instead of 20,000 visits.
-- problems_in_hand: problems open or claimed, with the columns /summary groups them by,
-- so "in hand" and "overdue" are counted from the index alone.

CREATE TABLE report_cadre_days (
    visit_date TEXT NOT NULL,
    cadre_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    PRIMARY KEY (visit_date, cadre_id, team_id, group_id)
) WITHOUT ROWID;

CREATE TABLE report_cadre_months (
    month TEXT NOT NULL,
    cadre_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    days INTEGER NOT NULL,
    PRIMARY KEY (month, cadre_id, team_id, group_id)
) WITHOUT ROWID;

CREATE TABLE report_kind_months (
    month TEXT NOT NULL,
    team_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    visits INTEGER NOT NULL,
    PRIMARY KEY (month, team_id, group_id, kind)
) WITHOUT ROWID;

CREATE INDEX problems_in_hand ON problems(status, level, deadline, team_id, group_id, reporter_id);

INSERT INTO report_cadre_days (visit_date, cadre_id, team_id, group_id, visits)
SELECT visit_date, cadre_id, IFNULL(team_id, 0), IFNULL(group_id, 0), COUNT(*)
FROM visits WHERE status = 'active'
GROUP BY 1, 2, 3, 4;

INSERT INTO report_cadre_months (month, cadre_id, team_id, group_id, visits, days)
SELECT substr(visit_date, 1, 7), cadre_id, team_id, group_id, SUM(visits), COUNT(*)
FROM report_cadre_days
GROUP BY 1, 2, 3, 4;

INSERT INTO report_kind_months (month, team_id, group_id, kind, visits)
SELECT substr(visit_date, 1, 7), team_id, group_id, kind, SUM(visits)
FROM report_kind_days
GROUP BY 1, 2, 3, 4;

-- Visits -> days.
CREATE TRIGGER report_cadre_day_added AFTER INSERT ON visits
WHEN NEW.status = 'active'
BEGIN
    INSERT INTO report_cadre_days (visit_date, cadre_id, team_id, group_id, visits)
    VALUES (NEW.visit_date, NEW.cadre_id, IFNULL(NEW.team_id, 0), IFNULL(NEW.group_id, 0), 1)
    ON CONFLICT DO UPDATE SET visits = visits + 1;
END;

CREATE TRIGGER report_cadre_day_moved
AFTER UPDATE OF status, visit_date, cadre_id, team_id, group_id ON visits
WHEN (OLD.status = 'active' OR NEW.status = 'active')
    AND (OLD.status IS NOT NEW.status OR OLD.visit_date IS NOT NEW.visit_date
        OR OLD.cadre_id IS NOT NEW.cadre_id OR OLD.team_id IS NOT NEW.team_id
        OR OLD.group_id IS NOT NEW.group_id)
BEGIN
    UPDATE report_cadre_days SET visits = visits - 1
    WHERE OLD.status = 'active' AND visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
        AND team_id = IFNULL(OLD.team_id, 0) AND group_id = IFNULL(OLD.group_id, 0);
    DELETE FROM report_cadre_days
    WHERE OLD.status = 'active' AND visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
        AND team_id = IFNULL(OLD.team_id, 0) AND group_id = IFNULL(OLD.group_id, 0)
        AND visits <= 0;
    INSERT INTO report_cadre_days (visit_date, cadre_id, team_id, group_id, visits)
    SELECT NEW.visit_date, NEW.cadre_id, IFNULL(NEW.team_id, 0), IFNULL(NEW.group_id, 0), 1
    WHERE NEW.status = 'active'
    ON CONFLICT DO UPDATE SET visits = visits + 1;
END;

CREATE TRIGGER report_cadre_day_removed AFTER DELETE ON visits
WHEN OLD.status = 'active'
BEGIN
    UPDATE report_cadre_days SET visits = visits - 1
    WHERE visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
        AND team_id = IFNULL(OLD.team_id, 0) AND group_id = IFNULL(OLD.group_id, 0);
    DELETE FROM report_cadre_days
    WHERE visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
        AND team_id = IFNULL(OLD.team_id, 0) AND group_id = IFNULL(OLD.group_id, 0)
        AND visits <= 0;
END;

-- Days -> months.
CREATE TRIGGER report_cadre_month_added AFTER INSERT ON report_cadre_days
BEGIN
    INSERT INTO report_cadre_months (month, cadre_id, team_id, group_id, visits, days)
    VALUES (substr(NEW.visit_date, 1, 7), NEW.cadre_id, NEW.team_id, NEW.group_id, NEW.visits, 1)
    ON CONFLICT DO UPDATE SET visits = visits + excluded.visits, days = days + 1;
END;

CREATE TRIGGER report_cadre_month_changed AFTER UPDATE OF visits ON report_cadre_days
BEGIN
    UPDATE report_cadre_months SET visits = visits + NEW.visits - OLD.visits
    WHERE month = substr(NEW.visit_date, 1, 7) AND cadre_id = NEW.cadre_id
        AND team_id = NEW.team_id AND group_id = NEW.group_id;
END;

CREATE TRIGGER report_cadre_month_removed AFTER DELETE ON report_cadre_days
BEGIN
    UPDATE report_cadre_months SET visits = visits - OLD.visits, days = days - 1
    WHERE month = substr(OLD.visit_date, 1, 7) AND cadre_id = OLD.cadre_id
        AND team_id = OLD.team_id AND group_id = OLD.group_id;
    DELETE FROM report_cadre_months
    WHERE month = substr(OLD.visit_date, 1, 7) AND cadre_id = OLD.cadre_id
        AND team_id = OLD.team_id AND group_id = OLD.group_id AND days <= 0;
END;

-- Kinds per day -> per month.
CREATE TRIGGER report_kind_month_added AFTER INSERT ON report_kind_days
BEGIN
    INSERT INTO report_kind_months (month, team_id, group_id, kind, visits)
    VALUES (substr(NEW.visit_date, 1, 7), NEW.team_id, NEW.group_id, NEW.kind, NEW.visits)
    ON CONFLICT DO UPDATE SET visits = visits + excluded.visits;
END;

CREATE TRIGGER report_kind_month_changed AFTER UPDATE OF visits ON report_kind_days
BEGIN
    UPDATE report_kind_months SET visits = visits + NEW.visits - OLD.visits
    WHERE month = substr(NEW.visit_date, 1, 7) AND team_id = NEW.team_id
        AND group_id = NEW.group_id AND kind = NEW.kind;
END;

CREATE TRIGGER report_kind_month_removed AFTER DELETE ON report_kind_days
BEGIN
    UPDATE report_kind_months SET visits = visits - OLD.visits
    WHERE month = substr(OLD.visit_date, 1, 7) AND team_id = OLD.team_id
        AND group_id = OLD.group_id AND kind = OLD.kind;
END;
