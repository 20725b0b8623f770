"""Namespace.build remembers the data it built (campaign/callbacks.py): a remembered
button is the one a cold build makes, and what a cold build refuses is refused every
time."""

from __future__ import annotations

import pytest

from campaign import callbacks
from campaign.callbacks import VISIT, CallbackError, Namespace, encode


def test_remembered_data_is_the_cold_data() -> None:
    ns = Namespace("tst", {"k": (1, 3), "x": (1, 1)})
    cases = [("k", (12, "policy", 1)), ("k", (12, "policy", 0)), ("x", (12,)), ("k", ("a",))]
    for action, args in cases:
        first = ns.build(action, *args)
        assert ns.build(action, *args) == first == encode("tst", action, *args)
    # True == 1 and 1.0 == 1 as keys, not as text: never served from the memory.
    assert ns.build("k", 12, True) == "tst:v1:k:12:True"
    assert ns.build("k", 12, 1) == "tst:v1:k:12:1"
    assert ns.build("k", 12, True) == "tst:v1:k:12:True"


def test_refusals_are_never_remembered() -> None:
    ns = Namespace("tst", {"k": (1, 1)})
    for _ in range(2):
        with pytest.raises(CallbackError):
            ns.build("k", 1, 2)  # arity
        with pytest.raises(CallbackError):
            ns.build("nope", 1)
        with pytest.raises(CallbackError):
            ns.build("k", "a b")  # a character outside the token set
        with pytest.raises(CallbackError):
            ns.build("k", "x" * 60)  # over 64 bytes


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callbacks, "_BUILT_MAX", 5)
    ns = Namespace("tst", {"k": (1, 1)})
    for i in range(12):
        assert ns.build("k", i) == f"tst:v1:k:{i}"
    assert len(ns._built) <= 5
    assert VISIT.build("x", 7) == encode("vis", "x", 7)
