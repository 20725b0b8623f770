"""campaign/phones.py: a roster phone is a mainland mobile; a shared contact's number is
international digits. The two meet in one normal form, ``+86`` and eleven digits."""

from __future__ import annotations

import pytest

from campaign.phones import contact_phone, mainland_mobile, normalise_phone


@pytest.mark.parametrize(
    "written",
    [
        "13800000101",
        "138 0000 0101",
        "138-0000-0101",
        "+86 138 0000 0101",
        "8613800000101",
        "008613800000101",
        "１３８０００００１０１",  # full-width digits
        "13800000101.0",  # a CSV saved by Excel from a number cell
        "1.3800000101E+10",
    ],
)
def test_every_way_a_roster_writes_a_mobile(written: str) -> None:
    assert mainland_mobile(written) == "+8613800000101"


@pytest.mark.parametrize(
    "written",
    [
        "0571-88888888",  # a Hangzhou landline
        "057188888888",
        "88888888",  # a local number without its area code
        "+1 305 123 4567",  # abroad
        "12800000101",  # 12x is no mobile range
        "1380000010",  # ten digits
        "138000001010",  # twelve: what the .0 used to become
        "1.38E+10",  # Excel's rounded display lost the digits
    ],
)
def test_what_is_no_mainland_mobile(written: str) -> None:
    assert mainland_mobile(written) is None


def test_landlines_still_read_as_numbers() -> None:
    """So the roster can say "a landline" rather than "not a number"."""
    assert normalise_phone("0571-88888888") == "+8657188888888"
    assert normalise_phone("无") is None


@pytest.mark.parametrize(
    ("shared", "expected"),
    [
        ("8613812345678", "+8613812345678"),  # what Telegram sends for a mainland account
        ("+8613812345678", "+8613812345678"),
        ("13051234567", "+13051234567"),  # a +1 305 account: not cadre 130 5123 4567
        ("44 7700 900123", "+447700900123"),
        ("", None),
        ("12", None),
        ("abc", None),
    ],
)
def test_a_contact_is_international_digits(shared: str, expected: str | None) -> None:
    assert contact_phone(shared) == expected
