"""The engine's base form: the JSON round trip every flow's draft data relies on."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.flow_form import EngineForm


@dataclass
class _Form(EngineForm):
    title: str = ""
    photos: list[list[str]] = field(default_factory=list)


def test_load_copies_deeply_so_a_change_in_place_is_seen_as_one() -> None:
    data = {"title": "路灯", "photos": [["a", "ua"]], "back": "note", "keyboard": True}
    form = _Form.load(data)
    form.photos[0].append("x")
    form.photos.append(["b", "ub"])
    assert data["photos"] == [["a", "ua"]]  # the draft as read is unchanged
    assert form.dump() != data


def test_round_trip_and_unknown_keys() -> None:
    form = _Form("标题", [["p", "u"]], command="/visit")
    data = form.dump()
    assert data == {
        "back": None,
        "command": "/visit",
        "keyboard": False,
        "title": "标题",
        "photos": [["p", "u"]],
    }
    # A key a newer or older version wrote is left out, not an error.
    assert _Form.load({**data, "gone": 1}) == form
    assert _Form.load({}) == _Form()
