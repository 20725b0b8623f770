"""The campaign's fixed words: kinds of work, kinds of place, problem categories, levels.

Display names are in the catalogues: ``kinds.<code>``, ``places.<kind>``,
``categories.<code>``, ``levels.<level>``.
"""

from __future__ import annotations

# 活动内容: a visit records one or more.
WORK_KINDS: tuple[str, ...] = ("policy", "survey", "party", "service", "stability", "enterprise")

# 挂钩点
PLACE_KINDS: tuple[str, ...] = ("village", "community", "enterprise", "household")

PROBLEM_CATEGORIES: tuple[str, ...] = (
    "infrastructure",
    "livelihood",
    "industry",
    "land",
    "disputes",
    "party",
    "enterprise",
    "other",
)

# The escalation ladder, bottom first.
LEVELS: tuple[str, ...] = ("group", "team", "office")
