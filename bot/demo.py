"""Realistic demo data for a county's year: teams, groups, cadres, places, visits,
problems with their history. Deterministic for a seed; written in one transaction with
bulk inserts (storage/bulk.py). Used by ``fieldbot demo-data`` and ``bench/office.py``.

Nothing is dated after today: for the current year, visits and problems stop at today
and problems are aged as of now. Phones are fictional (+86199...). Some places are never
visited and some cadres never go out, so coverage reports have something to find.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from campaign.settings import ProblemSettings
from campaign.vocabulary import PROBLEM_CATEGORIES, WORK_KINDS
from storage.bulk import VisitBatch, has_roster, insert_county
from storage.db import Database

TOWNS = "城关 河口 青山 白沙 柳林 石桥 东湖 西岭 南塘 北坪 桃源 龙泉 金山 清河 新华 平安".split()
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌海波宁鹏飞")
UNITS = [
    "县委组织部",
    "县发改局",
    "县教育局",
    "县财政局",
    "县农业农村局",
    "县卫健委",
    "县交通局",
    "县住建局",
    "县人社局",
    "县民政局",
    "县水利局",
    "县自然资源局",
]
VILLAGE_WORDS = "东风 红旗 向阳 光明 团结 胜利 新村 和平 五一 前进 幸福 长青 丰收 兴旺".split()
DEEDS = [
    "入户宣讲惠农补贴政策，解答群众关于医保缴费的疑问",
    "召开村两委会议，研究村集体经济发展项目",
    "走访脱贫户，了解家庭收入和务工情况",
    "协调解决村道路灯损坏问题，联系供电所上门维修",
    "调解邻里宅基地纠纷，双方达成一致",
    "到企业了解用工和融资需求，登记待办事项",
    "检查村党群服务中心阵地建设，整理党员活动记录",
    "走访留守老人，帮助办理高龄补贴申请",
    "组织村民代表座谈，征求人居环境整治意见",
    "排查安全隐患，督促企业落实消防措施",
]
PROBLEM_TEXTS = [
    "村组道路年久失修，雨天出行困难",
    "饮水管网老化，夏季经常停水",
    "企业用工缺口较大，希望协调招聘",
    "土地流转合同到期，村民意见不一",
    "两户邻里因排水沟发生纠纷",
    "村集体经济收入来源单一，需要项目支持",
    "农产品销路不畅，价格偏低",
    "村卫生室缺少常用药品",
]


@dataclass(frozen=True)
class DemoCounts:
    teams: int
    groups: int
    cadres: int
    places: int
    visits: int
    problems: int
    events: int


@dataclass(frozen=True)
class _Cadre:
    id: int
    role: str
    team: int | None
    group: int | None


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _utc(day: date, hour: float, tz: ZoneInfo) -> datetime:
    moment = datetime.combine(day, time(0), tz) + timedelta(hours=hour)
    return moment.astimezone(UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def generate(
    db: Database,
    *,
    cadres: int = 1000,
    places: int = 300,
    visits: int = 250_000,
    problems: int = 20_000,
    year: int = 2026,
    seed: int = 1,
    timezone: str = "Asia/Shanghai",
    problem_settings: ProblemSettings | None = None,
    now: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoCounts:
    """Fill an empty database with ``year`` up to ``now`` (default: the whole year);
    problems are aged as of the earlier of ``now`` and 31 December 20:00.
    ``progress(stage, done, total)`` hears how far the writing is."""
    rng = random.Random(seed)
    tz = ZoneInfo(timezone)
    ps = problem_settings or ProblemSettings()
    if await has_roster(db):
        raise ValueError("the database already has a roster; demo data needs an empty one")
    n_teams = max(1, min(len(TOWNS), round(cadres / 90)))
    n_groups = max(n_teams, round(cadres / 7))
    first = date(year, 1, 1)
    as_of = _utc(date(year, 12, 31), 20, tz)
    if now is not None and now < as_of:
        as_of = now
    last = as_of.astimezone(tz).date()
    if last < first:
        raise ValueError(f"{year} has not begun yet; choose --year {last.year} or earlier")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    workdays = [d for d in days if d.weekday() < 5] or days
    stamp = _text(datetime(year, 1, 1, tzinfo=UTC))

    team_rows = [
        (i + 1, f"T{i + 1:02d}", f"{TOWNS[i]}镇工作队", f"{TOWNS[i]}镇") for i in range(n_teams)
    ]
    group_rows = []
    for i in range(n_groups):
        team = i % n_teams + 1
        group_rows.append(
            (i + 1, f"G{i + 1:03d}", f"{TOWNS[team - 1]}第{i // n_teams + 1}组", team)
        )

    # Cadres: per team a leader and a deputy, per group a leader, the rest cadres; a few
    # office staff and inspectors.
    cadre_rows: list[tuple[object, ...]] = []
    people: list[_Cadre] = []
    roles: list[tuple[str, int | None, int | None]] = []
    for t in range(1, n_teams + 1):
        roles += [("team_leader", t, None), ("deputy_team_leader", t, None)]
    for gid, _, _, team in group_rows:
        roles.append(("group_leader", team, gid))
    roles += [("office", None, None)] * 4 + [("inspector", None, None)] * 2
    while len(roles) < cadres:
        gid, _, _, team = group_rows[len(roles) % n_groups]
        roles.append(("cadre", team, gid))
    for i, (role, c_team, c_group) in enumerate(roles[:cadres]):
        people.append(_Cadre(i + 1, role, c_team, c_group))
        cadre_rows.append(
            (
                i + 1,
                _name(rng),
                f"+86199{i + 1:08d}",
                role,
                c_team,
                c_group,
                rng.choice(UNITS),
                stamp,
                stamp,
            )
        )

    place_rows: list[tuple[object, ...]] = []
    villages_of: dict[int, list[int]] = {}
    places_of_group: dict[int, list[int]] = {}
    places_of_team: dict[int, list[int]] = {}
    for i in range(places):
        gid, _, gname, team = group_rows[i % n_groups]
        kind = rng.choices(("village", "community", "enterprise", "household"), (50, 10, 25, 15))[0]
        village = (
            rng.choice(villages_of[gid]) if kind == "household" and villages_of.get(gid) else None
        )
        if kind == "household" and village is None:
            kind = "village"
        pid = i + 1
        if kind == "village":
            villages_of.setdefault(gid, []).append(pid)
        places_of_group.setdefault(gid, []).append(pid)
        places_of_team.setdefault(team, []).append(pid)
        word = rng.choice(VILLAGE_WORDS)
        name = {
            "village": f"{word}村",
            "community": f"{word}社区",
            "enterprise": f"{word}{rng.choice(('茶厂', '建材厂', '合作社', '食品公司'))}",
            "household": f"{_name(rng)}家",
        }[kind] + f"{pid}"
        lat, lon = 30 + rng.random(), 114 + rng.random()
        place_rows.append(
            (pid, f"P{pid:04d}", kind, name, TOWNS[team - 1] + "镇", gid, village, lat, lon)
        )

    # Who goes where: a cadre visits their group's places (team leaders their team's).
    dormant = set(rng.sample(range(1, places + 1), k=max(1, places // 30)))
    field = [c for c in people if c.role not in ("office", "inspector")]
    idle = set(rng.sample([c.id for c in field], k=max(1, len(field) // 50)))
    active = [c for c in field if c.id not in idle]
    weights = [rng.lognormvariate(0, 0.5) for _ in active]

    def targets(c: _Cadre) -> list[int]:
        if c.group is not None:
            pool = places_of_group.get(c.group, [])
        else:
            pool = places_of_team.get(c.team or 0, [])
        live = [p for p in pool if p not in dormant]
        return live or [p for p in range(1, places + 1) if p not in dormant][:5]

    pools = {c.id: targets(c) for c in active}

    def visit_batches() -> Iterator[VisitBatch]:
        vid = 0
        while vid < visits:
            batch: list[Sequence[object]] = []
            kinds: list[tuple[int, str]] = []
            photos: list[tuple[int, int, str]] = []
            for c in rng.choices(active, weights, k=min(10_000, visits - vid)):
                vid += 1
                day = rng.choice(workdays) if rng.random() < 0.9 else rng.choice(days)
                place = rng.choice(pools[c.id])
                status = "withdrawn" if rng.random() < 0.01 else "active"
                far = rng.random() < 0.03
                created = _text(min(_utc(day, 17 + 4 * rng.random(), tz), as_of))
                batch.append(
                    (
                        vid,
                        c.id,
                        c.team,
                        c.group,
                        place,
                        day.isoformat(),
                        rng.choice(DEEDS),
                        f"voice{vid}" if rng.random() < 0.05 else None,
                        rng.randint(1, 30) if rng.random() < 0.8 else None,
                        3.5 + rng.random() * 5 if far else rng.random() * 2,
                        int(far),
                        int(rng.random() < 0.01),
                        status,
                        created,
                        created,
                    )
                )
                for kind in rng.sample(WORK_KINDS, k=rng.choices((1, 2, 3), (55, 35, 10))[0]):
                    kinds.append((vid, kind))
                if rng.random() < 0.3:
                    for pos in range(rng.randint(1, 3)):
                        photos.append((vid, pos, f"photo{vid}_{pos}"))
            yield batch, kinds, photos

    problem_rows, event_rows = _problems(rng, problems, active, pools, days, as_of, tz, ps)

    def after_batch(done: int) -> None:
        if progress is not None:
            progress("visits", done, visits)

    if progress is not None:
        progress("roster", 0, visits)
    await insert_county(
        db,
        teams=team_rows,
        groups=group_rows,
        cadres=cadre_rows,
        places=place_rows,
        visit_batches=visit_batches(),
        problems=problem_rows,
        events=event_rows,
        after_batch=after_batch,
    )
    return DemoCounts(
        n_teams, n_groups, len(cadre_rows), len(place_rows), visits, problems, len(event_rows)
    )


def _key(level: str, c: _Cadre) -> tuple[str, int | None]:
    return (level, c.group if level == "group" else c.team)


def _problems(
    rng: random.Random,
    count: int,
    active: list[_Cadre],
    pools: dict[int, list[int]],
    days: list[date],
    as_of: datetime,
    tz: ZoneInfo,
    ps: ProblemSettings,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Problems raised through the year and taken up the ladder, aged as of ``as_of``."""
    leaders: dict[tuple[str, int | None], int] = {}
    for c in active:
        if c.role == "group_leader":
            leaders[("group", c.group)] = c.id
        elif c.role == "team_leader":
            leaders[("team", c.team)] = c.id
    span = {"group": ps.group_days, "team": ps.team_days, "office": ps.office_days}
    problems: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    for pid in range(1, count + 1):
        c = rng.choice(active)
        created = _utc(rng.choice(days), 8 + 10 * rng.random(), tz)
        if created >= as_of:
            created = as_of - timedelta(hours=rng.randint(1, 200))
        raised = _text(created)
        events.append((pid, raised, c.id, "raise", None, "group", ""))
        level, since = "group", created
        climbs = rng.choices((0, 1, 2), (70, 22, 8))[0]
        for step in range(climbs):
            nxt = ("team", "office")[step]
            moved = since + timedelta(days=rng.uniform(1, span[level] * 1.3))
            if moved >= as_of:
                break
            action = "auto_escalate" if moved - since > timedelta(days=span[level]) else "escalate"
            actor = None if action == "auto_escalate" else leaders.get(_key(level, c))
            events.append((pid, _text(moved), actor, action, level, nxt, ""))
            level, since = nxt, moved
        owner = leaders.get(_key(level, c))
        if owner is not None and rng.random() < 0.8:
            claimed = since + timedelta(hours=rng.uniform(1, 48))
            if claimed < as_of:
                events.append((pid, _text(claimed), owner, "claim", None, None, ""))
        deadline = since + timedelta(days=span[level])
        close_at = since + timedelta(days=rng.uniform(0.5, span[level] * 1.4))
        status, closed, resolution, explained_by, explained_on, watch = (
            "open",
            None,
            None,
            None,
            None,
            0,
        )
        if close_at < as_of and rng.random() < 0.92:
            status = "solved" if rng.random() < 0.8 else "explained"
            closed = _text(close_at)
            if status == "solved":
                resolution = "已协调相关部门解决"
            else:
                resolution = "受政策和资金限制暂时无法解决，已向群众解释说明"
                explained_by = "工作组"
                explained_on = close_at.astimezone(tz).date().isoformat()
                watch = 1
            events.append(
                (
                    pid,
                    closed,
                    owner,
                    "solve" if status == "solved" else "explain",
                    None,
                    None,
                    resolution,
                )
            )
        elif owner is not None and rng.random() < 0.5:
            status = "claimed"
        problems.append(
            (
                pid,
                c.id,
                c.team,
                c.group,
                rng.choice(pools[c.id]),
                rng.choice(PROBLEM_CATEGORIES),
                rng.choice(PROBLEM_TEXTS),
                int(rng.random() < 0.1),
                level,
                status,
                owner if status != "open" else None,
                _text(since),
                _text(deadline),
                resolution,
                explained_by,
                explained_on,
                closed,
                watch,
                raised,
                closed or raised,
            )
        )
    return problems, events
