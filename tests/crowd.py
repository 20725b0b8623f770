"""A roster of any size, written straight into a bot's database file (as
tests/factories.py does for the small one), and the Telegram users who play it.

Until the roster import exists on this branch, rows go in with plain SQL. Every team
has a leader and a deputy, every group a leader; the rest are cadres; one office member
and one inspector per twenty people. Phones are fictional (+86139...). Every group has a
village, and every member of a group an enterprise of their own (:func:`own_place`), so
that scripted problems have a place nobody else reports on.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaign.i18n import pick_language
from campaign.roles import Role
from tests.fakebot import TgUser

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_LANGS = ("zh-hans", "zh-hans", "en", None, "zh-hant", "fr")
FIRST_USER_ID = 100_000


@dataclass(frozen=True)
class Member:
    """One cadre on the crowd roster, and the Telegram user who will play them."""

    index: int
    cadre_id: int
    name: str
    phone: str
    role: Role
    team_id: int | None
    team_name: str
    group_name: str
    user: TgUser

    @property
    def lang(self) -> str:
        """The language the bot answers in before any /lang choice."""
        return pick_language(None, self.user.language_code, "zh-CN")

    @property
    def team_chat_id(self) -> int:
        assert self.team_id is not None
        return -1_000_000_000 - self.team_id


def crowd_roles(n: int) -> list[Role]:
    """The roles of ``n`` people, in roster order: leaders first within each team."""
    roles: list[Role] = []
    while len(roles) < n:
        block = [
            Role.TEAM_LEADER,
            Role.DEPUTY_TEAM_LEADER,
            Role.GROUP_LEADER,
            *[Role.CADRE] * 7,
            Role.GROUP_LEADER,
            *[Role.CADRE] * 7,
            Role.OFFICE,
            Role.INSPECTOR,
        ]
        roles.extend(block)
    return roles[:n]


@dataclass(frozen=True)
class _Inserted:
    lastrowid: int | None


class _PgSeeding:
    """sqlite3's ``execute``/``lastrowid`` on a PostgreSQL database, for ``seed_crowd``."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._raw = psycopg.connect(url)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> _Inserted:
        """Each statement answers its own ``lastrowid``, as each sqlite3 cursor does."""
        from storage.pg import translate_pyformat

        text = translate_pyformat(sql)
        if text.lstrip().upper().startswith("INSERT"):
            row = self._raw.execute(text + " RETURNING id", params).fetchone()
            return _Inserted(int(row[0]) if row else None)
        self._raw.execute(text, params)
        return _Inserted(None)

    def __enter__(self) -> _PgSeeding:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self._raw.commit()
        else:
            self._raw.rollback()

    def close(self) -> None:
        self._raw.close()


def seed_crowd(database: Path | str, n: int) -> list[Member]:
    """Insert ``n`` cadres into a migrated database (a file, or a ``postgresql://``
    address); return who they are."""
    conn: Any
    if str(database).startswith(("postgresql://", "postgres://")):
        conn = _PgSeeding(str(database))
    else:
        conn = sqlite3.connect(database)
        conn.execute("PRAGMA foreign_keys=ON")
    now = "2026-11-16T01:00:00+00:00"
    members: list[Member] = []
    team_id: int | None = None
    group_id: int | None = None
    team_name = group_name = ""
    with conn:
        for i, role in enumerate(crowd_roles(n)):
            if role is Role.TEAM_LEADER:
                team_no = i // 20 + 1
                team_name = f"第{team_no}工作队"
                cur = conn.execute(
                    "INSERT INTO teams (code, name, town) VALUES (?, ?, ?)",
                    (f"CT{team_no}", team_name, f"{team_no}镇"),
                )
                team_id = int(cur.lastrowid or 0)
            if role is Role.GROUP_LEADER:
                assert team_id is not None
                group_name = f"{team_name}第{i % 20 // 10 + 1}组"
                cur = conn.execute(
                    "INSERT INTO groups (code, name, team_id) VALUES (?, ?, ?)",
                    (f"CG{i}", group_name, team_id),
                )
                group_id = int(cur.lastrowid or 0)
                conn.execute(
                    "INSERT INTO places (code, kind, name, town, group_id) VALUES (?, ?, ?, ?, ?)",
                    (f"CV{i}", "village", f"{group_name}村", "", group_id),
                )
            in_team = role in (Role.CADRE, Role.GROUP_LEADER, Role.TEAM_LEADER)
            in_team = in_team or role is Role.DEPUTY_TEAM_LEADER
            in_group = role in (Role.CADRE, Role.GROUP_LEADER)
            name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i // 3) % len(_GIVEN)] + str(i)
            phone = f"+86139{i:08d}"
            cur = conn.execute(
                "INSERT INTO cadres (name, phone, role, team_id, group_id, unit, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    phone,
                    role.value,
                    team_id if in_team else None,
                    group_id if in_group else None,
                    "县直单位",
                    now,
                    now,
                ),
            )
            if in_group:
                conn.execute(
                    "INSERT INTO places (code, kind, name, town, group_id) VALUES (?, ?, ?, ?, ?)",
                    (f"CE{i}", "enterprise", own_place(i), "", group_id),
                )
            user = TgUser(FIRST_USER_ID + i, f"u{i}", _LANGS[i % len(_LANGS)])
            members.append(
                Member(
                    index=i,
                    cadre_id=int(cur.lastrowid or 0),
                    name=name,
                    phone=phone,
                    role=role,
                    team_id=team_id if in_team else None,
                    team_name=team_name if in_team else "",
                    group_name=group_name if in_group else "",
                    user=user,
                )
            )
    conn.close()
    return members


def own_place(index: int) -> str:
    """The enterprise only member ``index`` works at: no name is part of another's."""
    return f"厂{index}号"
