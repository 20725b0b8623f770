-- The numbered bulletin (快报 / 工作简报, 第 N 期): drafted each week for the office to sign
-- off (an opening text, the model cases it carries), then published. A draft may carry
-- a moment after which it is published as it stands (NULL: held until published).

CREATE TABLE bulletins (
    number BIGINT PRIMARY KEY,                  -- 第 N 期
    week TEXT NOT NULL UNIQUE,                 -- the week reported on, e.g. 2026-W46
    first_day TEXT NOT NULL,                   -- local dates of that week
    last_day TEXT NOT NULL,
    body TEXT NOT NULL,                        -- the week's numbers, as drafted
    opening TEXT NOT NULL DEFAULT '',          -- the office's own words at the top
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    created_at TEXT NOT NULL,                  -- UTC
    publish_at TEXT,                           -- UTC; NULL: held for the office
    published_at TEXT,
    published_by BIGINT REFERENCES cadres(id) -- NULL: published by the clock
);
CREATE INDEX bulletins_due ON bulletins(status, publish_at);

CREATE TABLE bulletin_cases (
    number BIGINT NOT NULL REFERENCES bulletins(number),
    case_id BIGINT NOT NULL REFERENCES model_cases(id),
    PRIMARY KEY (number, case_id)
);
CREATE INDEX bulletin_cases_case ON bulletin_cases(case_id);

-- A sending unit's contact (选派单位联系人), as the roster names it: a name, or a phone
-- (``phone``: the mainland mobile it reads as). A contact who joined the bot receives the
-- unit's monthly summary.
CREATE TABLE unit_contacts (
    unit TEXT PRIMARY KEY,
    contact TEXT NOT NULL,
    phone TEXT
);
