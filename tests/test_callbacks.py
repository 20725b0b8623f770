"""The callback-data codec: what a button may carry, and what a press may send back."""

from __future__ import annotations

import re

import pytest

from campaign import callbacks
from campaign.callbacks import CallbackError


def test_encode_then_decode_gives_the_parts_back() -> None:
    data = callbacks.encode("vis", "pl", 12, "2026-11-16", "a_b.c")
    assert data == "vis:v1:pl:12:2026-11-16:a_b.c"
    cb = callbacks.decode(data, "vis")
    assert (cb.action, cb.args, cb.int_arg(0)) == ("pl", ("12", "2026-11-16", "a_b.c"), 12)


@pytest.mark.parametrize(
    "args",
    [("a:b",), ("",), ("中文",), ("a b",), ("x" * 41,), ("ok", "x" * 60)],
)
def test_encode_refuses_what_a_button_cannot_carry(args: tuple[str, ...]) -> None:
    with pytest.raises(CallbackError):
        callbacks.encode("vis", "pl", *args)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "vis",
        "vis:v1",
        "prb:v1:ack:1",
        "vis:v0:pl:1",
        "vis:v1:pl:中",
        "vis:v1:" + "x" * 70,
    ],
)
def test_decode_refuses_foreign_old_or_malformed_data(data: str | None) -> None:
    with pytest.raises(CallbackError):
        callbacks.decode(data, "vis")


def test_a_numeric_argument_must_be_a_sane_number() -> None:
    for data in ("vis:v1:pl:-1", "vis:v1:pl:x", "vis:v1:pl", f"vis:v1:pl:{2**63}"):
        with pytest.raises(CallbackError):
            callbacks.decode(data, "vis").int_arg(0)


def test_a_namespace_builds_parses_and_matches_only_its_own_actions() -> None:
    ns = callbacks.Namespace("zz", {"go": (1, 2), "x": (0, 0)})
    data = ns.build("go", 7)
    assert data == "zz:v1:go:7" and ns.parse(data).int_arg(0) == 7
    assert re.match(ns.pattern("go"), data) and not re.match(ns.pattern("x"), data)
    assert re.match(ns.pattern("x"), ns.build("x")) and re.match(ns.pattern(), data)
    for bad in ("zz:v1:go", "zz:v1:go:1:2:3", "zz:v1:nope:1", "yy:v1:go:1", "zz:v2:go:1"):
        with pytest.raises(CallbackError):
            ns.parse(bad)
    with pytest.raises(CallbackError):
        ns.build("go")
    with pytest.raises(ValueError):
        ns.pattern("nope")


def test_every_menu_key_of_every_role_is_a_menu_action() -> None:
    from campaign.roles import ROLE_MENU

    for keys in ROLE_MENU.values():
        for key in keys:
            assert callbacks.MENU.parse(callbacks.MENU.build(key)).action == key


def test_the_office_buttons_fit_with_their_largest_arguments() -> None:
    # A supergroup's id is negative and long; a period token is two dates.
    reach = callbacks.PARKED.build("reach", -1009999999999)
    assert callbacks.PARKED.parse(reach).args == ("-1009999999999",)
    assert callbacks.PARKED.parse(callbacks.PARKED.build("retry", 2**40)).int_arg(0) == 2**40
    log = callbacks.REPORT.build("log", 2**40, "20261101-20270101")
    assert len(log) <= callbacks.MAX_BYTES and callbacks.REPORT.parse(log).int_arg(0) == 2**40
    for bad in ("obx:v1:retry", "obx:v1:nuke:1", "rpt:v1:log:1", "rpt:v1:log:1:2:3"):
        with pytest.raises(CallbackError):
            (callbacks.PARKED if bad.startswith("obx") else callbacks.REPORT).parse(bad)
