"""A small roster written straight into a test database: two teams, three groups,
every role, places of every kind. Phones are fictional."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, utcnow_text


@dataclass(frozen=True)
class Seed:
    """Ids of the seeded rows, by a short name."""

    teams: dict[str, int]
    groups: dict[str, int]
    cadres: dict[str, int]
    phones: dict[str, str]
    places: dict[str, int]


TEAMS = [("T1", "城关镇工作队", "城关镇"), ("T2", "河口镇工作队", "河口镇")]
GROUPS = [("G1", "城关一组", "T1"), ("G2", "城关二组", "T1"), ("G3", "河口一组", "T2")]
# key, name, phone, role, team, group, unit
CADRES = [
    ("cadre1", "张伟", "+8613800000001", "cadre", "T1", "G1", "县发改局"),
    ("cadre2", "王芳", "+8613800000002", "cadre", "T1", "G1", "县教育局"),
    ("cadre3", "李强", "+8613800000003", "cadre", "T1", "G2", "县财政局"),
    ("cadre4", "赵敏", "+8613800000004", "cadre", "T2", "G3", "县农业农村局"),
    ("leader1", "刘洋", "+8613800000011", "group_leader", "T1", "G1", "县发改局"),
    ("leader2", "陈静", "+8613800000012", "group_leader", "T1", "G2", "县卫健委"),
    ("leader3", "杨磊", "+8613800000013", "group_leader", "T2", "G3", "县交通局"),
    ("captain1", "黄海", "+8613800000021", "team_leader", "T1", None, "县委组织部"),
    ("deputy1", "周丽", "+8613800000022", "deputy_team_leader", "T1", None, "县人社局"),
    ("captain2", "吴刚", "+8613800000023", "team_leader", "T2", None, "县住建局"),
    ("office1", "郑红", "+8613800000031", "office", None, None, "县委组织部"),
    ("inspector1", "孙亮", "+8613800000041", "inspector", None, None, "县纪委监委"),
]
# key, kind, name, town, group, village key, lat, lon
PLACES = [
    ("v1", "village", "东风村", "城关镇", "G1", None, 30.0000, 114.0000),
    ("v2", "village", "红旗村", "城关镇", "G2", None, 30.1000, 114.1000),
    ("c1", "community", "城南社区", "城关镇", "G1", None, None, None),
    ("e1", "enterprise", "城关建材厂", "城关镇", "G1", None, 30.0100, 114.0100),
    ("h1", "household", "张大爷家", "城关镇", "G1", "v1", None, None),
    ("v3", "village", "河口村", "河口镇", "G3", None, 30.5000, 114.5000),
    ("e2", "enterprise", "河口茶厂", "河口镇", "G3", None, None, None),
]


async def seed_roster(db: Database) -> Seed:
    now = utcnow_text()
    teams: dict[str, int] = {}
    groups: dict[str, int] = {}
    cadres: dict[str, int] = {}
    places: dict[str, int] = {}
    async with db.write() as conn:
        for code, name, town in TEAMS:
            cur = await conn.execute(
                "INSERT INTO teams (code, name, town) VALUES (?, ?, ?)", (code, name, town)
            )
            teams[code] = int(cur.lastrowid or 0)
        for code, name, team in GROUPS:
            cur = await conn.execute(
                "INSERT INTO groups (code, name, team_id) VALUES (?, ?, ?)",
                (code, name, teams[team]),
            )
            groups[code] = int(cur.lastrowid or 0)
        for key, name, phone, role, team, group, unit in CADRES:
            cur = await conn.execute(
                "INSERT INTO cadres (name, phone, role, team_id, group_id, unit, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    phone,
                    role,
                    teams[team] if team else None,
                    groups[group] if group else None,
                    unit,
                    now,
                    now,
                ),
            )
            cadres[key] = int(cur.lastrowid or 0)
        for key, kind, name, town, group, village, lat, lon in PLACES:
            cur = await conn.execute(
                "INSERT INTO places (code, kind, name, town, group_id, village_id, lat, lon)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.upper(),
                    kind,
                    name,
                    town,
                    groups[group],
                    places[village] if village else None,
                    lat,
                    lon,
                ),
            )
            places[key] = int(cur.lastrowid or 0)
    phones = {key: phone for key, _, phone, *_ in CADRES}
    return Seed(teams, groups, cadres, phones, places)
