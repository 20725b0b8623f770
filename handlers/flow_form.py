"""The base of a flow's draft data: the engine's own fields and the JSON round trip.

A flow's form (what ``drafts.data`` holds) subclasses ``EngineForm`` and adds its fields,
each with a default; ``dump`` and ``load`` then come with it. ``load`` copies the values
deeply: the engine saves a step only when the form differs from the draft it was loaded
from, so a list changed in place must not change the draft's data as well."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from typing import Any, Self


@dataclass(kw_only=True)  # keyword-only: a subclass's own fields stay positional
class EngineForm:
    back: str | None = None  # the step a question (drop the draft?) returns to
    command: str | None = None  # the command that interrupted the flow
    keyboard: bool = False  # a reply keyboard was shown: taken away when the flow ends

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        return cls(**{k: copy.deepcopy(v) for k, v in data.items() if k in known})
