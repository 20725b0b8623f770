-- Teams, groups, cadres and places from the roster; Telegram bindings; bound chats;
-- invites; the audit log; processed update ids (so a redelivered update does nothing).

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    town TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES teams(id),
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX groups_team ON groups(team_id);

CREATE TABLE cadres (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('cadre', 'group_leader', 'team_leader',
                                       'deputy_team_leader', 'office', 'inspector')),
    team_id INTEGER REFERENCES teams(id),
    group_id INTEGER REFERENCES groups(id),
    unit TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cadres_group ON cadres(group_id);
CREATE INDEX cadres_team ON cadres(team_id);

CREATE TABLE places (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('village', 'community', 'enterprise', 'household')),
    name TEXT NOT NULL,
    town TEXT NOT NULL DEFAULT '',
    group_id INTEGER REFERENCES groups(id),
    village_id INTEGER REFERENCES places(id),
    lat REAL,
    lon REAL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX places_group ON places(group_id);
CREATE INDEX places_village ON places(village_id);

-- One cadre, one Telegram account.
CREATE TABLE telegram_bindings (
    cadre_id INTEGER PRIMARY KEY REFERENCES cadres(id),
    telegram_user_id INTEGER NOT NULL UNIQUE,
    via TEXT NOT NULL CHECK (via IN ('contact', 'invite')),
    bound_at TEXT NOT NULL
);

-- Language choice for anyone who wrote to the bot, bound or not.
CREATE TABLE user_prefs (
    telegram_user_id INTEGER PRIMARY KEY,
    lang TEXT
);

CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    cadre_id INTEGER NOT NULL REFERENCES cadres(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by INTEGER
);

-- A team's group chat and the office chat. One chat per team; one office chat.
CREATE TABLE bound_chats (
    chat_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('team', 'office')),
    team_id INTEGER REFERENCES teams(id),
    title TEXT NOT NULL DEFAULT '',
    bound_by INTEGER NOT NULL REFERENCES cadres(id),
    bound_at TEXT NOT NULL,
    CHECK ((kind = 'team') = (team_id IS NOT NULL))
);
CREATE UNIQUE INDEX bound_chats_team ON bound_chats(team_id) WHERE kind = 'team';
CREATE UNIQUE INDEX bound_chats_office ON bound_chats(kind) WHERE kind = 'office';

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_cadre_id INTEGER,
    actor_telegram_id INTEGER,
    chat_id INTEGER,
    action TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    before TEXT,
    after TEXT
);
CREATE INDEX audit_subject ON audit_log(subject);

CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    at TEXT NOT NULL
);
