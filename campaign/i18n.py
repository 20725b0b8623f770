"""Message catalogues: zh-CN first, en complete.

Catalogues are TOML files under ``campaign/locales/<lang>/``, one file per feature
(``start.toml``, ``visits.toml`` ...). Tables nest keys: ``[start] greeting = "..."`` is
``start.greeting``. Placeholders use ``str.format`` names: ``{name}``.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str], origin: str) -> None:
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(f"{full}.", value, out, origin)
        elif isinstance(value, str):
            if full in out:
                raise ValueError(f"{origin}: message key {full!r} defined twice")
            out[full] = value
        else:
            raise ValueError(f"{origin}: message {full!r} must be a string")


def load_language(lang: str, root: Path = LOCALES_DIR) -> dict[str, str]:
    messages: dict[str, str] = {}
    folder = root / lang
    for path in sorted(folder.glob("*.toml")):
        _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), messages, str(path))
    return messages


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Catalog:
    """All languages' messages; ``t(lang, key, **values)`` renders one."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self.messages = messages

    @classmethod
    def load(cls, root: Path = LOCALES_DIR) -> Catalog:
        return cls({lang: load_language(lang, root) for lang in LANGUAGES})

    def has(self, key: str) -> bool:
        return key in self.messages[DEFAULT_LANGUAGE]

    def t(self, lang: str, key: str, /, **values: Any) -> str:
        table = self.messages.get(lang) or self.messages[DEFAULT_LANGUAGE]
        text = table.get(key)
        if text is None:
            text = self.messages[DEFAULT_LANGUAGE].get(key)
        if text is None:
            raise KeyError(f"message {key!r} is in no catalogue")
        return text.format(**values) if values else text


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.load()


def pick_language(saved: str | None, telegram_code: str | None, default: str) -> str:
    """The user's saved choice, else what Telegram says their app speaks, else the default."""
    if saved in LANGUAGES:
        return saved
    code = (telegram_code or "").lower()
    if code.startswith("zh"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return default
