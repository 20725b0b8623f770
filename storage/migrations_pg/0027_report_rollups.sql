-- Report roll-ups: what lets a month's /summary count a county's visits without reading
-- them (the PostgreSQL twin of storage/migrations/0027_report_rollups.sql; see there).
--
-- report_cadre_days: active visits per day, cadre, team and group (0: none), a row only
-- while the cadre has an active visit that day; report_cadre_months: the same per month
-- with days in the field; report_kind_months: report_kind_days per month.
-- problems_in_hand: the columns /summary counts problems in hand by.

CREATE TABLE report_cadre_days (
    visit_date TEXT NOT NULL,
    cadre_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    group_id BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    PRIMARY KEY (visit_date, cadre_id, team_id, group_id)
);

CREATE TABLE report_cadre_months (
    month TEXT NOT NULL,
    cadre_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    group_id BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    days BIGINT NOT NULL,
    PRIMARY KEY (month, cadre_id, team_id, group_id)
);

CREATE TABLE report_kind_months (
    month TEXT NOT NULL,
    team_id BIGINT NOT NULL,
    group_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    visits BIGINT NOT NULL,
    PRIMARY KEY (month, team_id, group_id, kind)
);

CREATE INDEX problems_in_hand ON problems(status, level, deadline, team_id, group_id, reporter_id);

INSERT INTO report_cadre_days (visit_date, cadre_id, team_id, group_id, visits)
SELECT visit_date, cadre_id, COALESCE(team_id, 0), COALESCE(group_id, 0), COUNT(*)
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
CREATE FUNCTION report_cadre_day_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_cadre_days (visit_date, cadre_id, team_id, group_id, visits)
    VALUES (NEW.visit_date, NEW.cadre_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.group_id, 0), 1)
    ON CONFLICT (visit_date, cadre_id, team_id, group_id)
    DO UPDATE SET visits = report_cadre_days.visits + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER report_cadre_day_added AFTER INSERT ON visits
FOR EACH ROW WHEN (NEW.status = 'active')
EXECUTE FUNCTION report_cadre_day_added();

CREATE FUNCTION report_cadre_day_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'active' THEN
        UPDATE report_cadre_days SET visits = visits - 1
        WHERE visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
            AND team_id = COALESCE(OLD.team_id, 0) AND group_id = COALESCE(OLD.group_id, 0);
        DELETE FROM report_cadre_days
        WHERE visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
            AND team_id = COALESCE(OLD.team_id, 0) AND group_id = COALESCE(OLD.group_id, 0)
            AND visits <= 0;
    END IF;
    IF NEW.status = 'active' THEN
        INSERT INTO report_cadre_days (visit_date, cadre_id, team_id, group_id, visits)
        VALUES (NEW.visit_date, NEW.cadre_id, COALESCE(NEW.team_id, 0),
            COALESCE(NEW.group_id, 0), 1)
        ON CONFLICT (visit_date, cadre_id, team_id, group_id)
        DO UPDATE SET visits = report_cadre_days.visits + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_cadre_day_moved
AFTER UPDATE OF status, visit_date, cadre_id, team_id, group_id ON visits
FOR EACH ROW
WHEN ((OLD.status = 'active' OR NEW.status = 'active')
    AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.visit_date IS DISTINCT FROM NEW.visit_date
        OR OLD.cadre_id IS DISTINCT FROM NEW.cadre_id OR OLD.team_id IS DISTINCT FROM NEW.team_id
        OR OLD.group_id IS DISTINCT FROM NEW.group_id))
EXECUTE FUNCTION report_cadre_day_moved();

CREATE FUNCTION report_cadre_day_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_cadre_days SET visits = visits - 1
    WHERE visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
        AND team_id = COALESCE(OLD.team_id, 0) AND group_id = COALESCE(OLD.group_id, 0);
    DELETE FROM report_cadre_days
    WHERE visit_date = OLD.visit_date AND cadre_id = OLD.cadre_id
        AND team_id = COALESCE(OLD.team_id, 0) AND group_id = COALESCE(OLD.group_id, 0)
        AND visits <= 0;
    RETURN NULL;
END $$;
CREATE TRIGGER report_cadre_day_removed AFTER DELETE ON visits
FOR EACH ROW WHEN (OLD.status = 'active')
EXECUTE FUNCTION report_cadre_day_removed();

-- Days -> months.
CREATE FUNCTION report_cadre_month_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_cadre_months (month, cadre_id, team_id, group_id, visits, days)
    VALUES (substr(NEW.visit_date, 1, 7), NEW.cadre_id, NEW.team_id, NEW.group_id, NEW.visits, 1)
    ON CONFLICT (month, cadre_id, team_id, group_id)
    DO UPDATE SET visits = report_cadre_months.visits + EXCLUDED.visits,
        days = report_cadre_months.days + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER report_cadre_month_added AFTER INSERT ON report_cadre_days
FOR EACH ROW EXECUTE FUNCTION report_cadre_month_added();

CREATE FUNCTION report_cadre_month_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_cadre_months SET visits = visits + NEW.visits - OLD.visits
    WHERE month = substr(NEW.visit_date, 1, 7) AND cadre_id = NEW.cadre_id
        AND team_id = NEW.team_id AND group_id = NEW.group_id;
    RETURN NULL;
END $$;
CREATE TRIGGER report_cadre_month_changed AFTER UPDATE OF visits ON report_cadre_days
FOR EACH ROW EXECUTE FUNCTION report_cadre_month_changed();

CREATE FUNCTION report_cadre_month_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_cadre_months SET visits = visits - OLD.visits, days = days - 1
    WHERE month = substr(OLD.visit_date, 1, 7) AND cadre_id = OLD.cadre_id
        AND team_id = OLD.team_id AND group_id = OLD.group_id;
    DELETE FROM report_cadre_months
    WHERE month = substr(OLD.visit_date, 1, 7) AND cadre_id = OLD.cadre_id
        AND team_id = OLD.team_id AND group_id = OLD.group_id AND days <= 0;
    RETURN NULL;
END $$;
CREATE TRIGGER report_cadre_month_removed AFTER DELETE ON report_cadre_days
FOR EACH ROW EXECUTE FUNCTION report_cadre_month_removed();

-- Kinds per day -> per month.
CREATE FUNCTION report_kind_month_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_kind_months (month, team_id, group_id, kind, visits)
    VALUES (substr(NEW.visit_date, 1, 7), NEW.team_id, NEW.group_id, NEW.kind, NEW.visits)
    ON CONFLICT (month, team_id, group_id, kind)
    DO UPDATE SET visits = report_kind_months.visits + EXCLUDED.visits;
    RETURN NULL;
END $$;
CREATE TRIGGER report_kind_month_added AFTER INSERT ON report_kind_days
FOR EACH ROW EXECUTE FUNCTION report_kind_month_added();

CREATE FUNCTION report_kind_month_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_kind_months SET visits = visits + NEW.visits - OLD.visits
    WHERE month = substr(NEW.visit_date, 1, 7) AND team_id = NEW.team_id
        AND group_id = NEW.group_id AND kind = NEW.kind;
    RETURN NULL;
END $$;
CREATE TRIGGER report_kind_month_changed AFTER UPDATE OF visits ON report_kind_days
FOR EACH ROW EXECUTE FUNCTION report_kind_month_changed();

CREATE FUNCTION report_kind_month_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_kind_months SET visits = visits - OLD.visits
    WHERE month = substr(OLD.visit_date, 1, 7) AND team_id = OLD.team_id
        AND group_id = OLD.group_id AND kind = OLD.kind;
    RETURN NULL;
END $$;
CREATE TRIGGER report_kind_month_removed AFTER DELETE ON report_kind_days
FOR EACH ROW EXECUTE FUNCTION report_kind_month_removed();
