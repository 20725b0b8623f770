"""Places a group is linked to (挂钩点): village, community, enterprise, household."""

from __future__ import annotations

from enum import StrEnum


class PlaceKind(StrEnum):
    VILLAGE = "village"
    COMMUNITY = "community"
    ENTERPRISE = "enterprise"
    HOUSEHOLD = "household"


# Chinese names accepted in the roster; the first Chinese name of each kind is the one
# the roster export writes.
KIND_ALIASES: dict[str, PlaceKind] = {
    "village": PlaceKind.VILLAGE,
    "村": PlaceKind.VILLAGE,
    "行政村": PlaceKind.VILLAGE,
    "community": PlaceKind.COMMUNITY,
    "社区": PlaceKind.COMMUNITY,
    "enterprise": PlaceKind.ENTERPRISE,
    "企业": PlaceKind.ENTERPRISE,
    "household": PlaceKind.HOUSEHOLD,
    "户": PlaceKind.HOUSEHOLD,
    "农户": PlaceKind.HOUSEHOLD,
    "住户": PlaceKind.HOUSEHOLD,
}

KIND_NAMES_ZH: dict[PlaceKind, str] = {
    PlaceKind.VILLAGE: "村",
    PlaceKind.COMMUNITY: "社区",
    PlaceKind.ENTERPRISE: "企业",
    PlaceKind.HOUSEHOLD: "户",
}


def parse_kind(text: str) -> PlaceKind | None:
    return KIND_ALIASES.get(text.strip().lower()) or KIND_ALIASES.get(text.strip())
