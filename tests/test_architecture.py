"""The floors of docs/architecture.md, checked from the imports of every module.

Every import points down: bot → handlers, scheduler → services → campaign, reports,
storage. A lower floor never imports a higher one; storage is SQL only; campaign is pure
(no chat library, no database driver); handlers speak to the chat, never to storage.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "scheduler", "services", "campaign", "reports", "storage")

# What each floor may import of the project's own packages.
ALLOWED: dict[str, set[str]] = {
    "bot": set(PACKAGES),
    "handlers": {"handlers", "services", "campaign", "reports"},
    "scheduler": {"scheduler", "services", "campaign", "reports"},
    "services": {"services", "campaign", "reports", "storage"},
    "reports": {"reports", "campaign"},
    "campaign": {"campaign"},
    "storage": {"storage", "campaign"},
}
# Third-party modules a floor must not reach: the chat library and the database driver
# stay at their edges.
FORBIDDEN_LIBRARIES: dict[str, tuple[str, ...]] = {
    "services": ("telegram", "aiosqlite", "sqlite3"),
    "campaign": ("telegram", "aiosqlite", "sqlite3"),
    "reports": ("telegram", "aiosqlite", "sqlite3"),
    "storage": ("telegram",),
}
# The parts of campaign/ that are rules or rendering, not plain values storage may use.
STORAGE_MUST_NOT_USE = re.compile(
    r"^campaign\.(i18n|problem_cards|ladder|settings|runtime|delivery)\b"
)
PRIVATE = re.compile(r"^(telegram|aiosqlite)(\.\w+)*\._")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{a.name}" for a in node.names)
    return names


def _modules() -> list[tuple[str, Path]]:
    return [(pkg, p) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("floor", PACKAGES)
def test_every_import_points_down(floor: str) -> None:
    wrong = []
    for pkg, path in _modules():
        if pkg != floor:
            continue
        for name in _imports(path):
            top = name.split(".")[0]
            if top in PACKAGES and top not in ALLOWED[floor]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
            if any(top == lib for lib in FORBIDDEN_LIBRARIES.get(floor, ())):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
            if floor == "storage" and STORAGE_MUST_NOT_USE.match(name):
                wrong.append(f"{path.relative_to(ROOT)} imports {name} (rules in storage)")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_no_private_library_internals() -> None:
    wrong = []
    for _, path in _modules():
        text = path.read_text(encoding="utf-8")
        for name in _imports(path):
            if PRIVATE.match(name):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
        for call in re.findall(r"\.(_post|_do_post|_execute|_get_key)\b", text):
            wrong.append(f"{path.relative_to(ROOT)} uses .{call}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_handlers_write_no_callback_literals() -> None:
    wrong = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""["'][^"']*\bv1\b[^"']*["']|:v1:""", line):
                wrong.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not wrong, "\n".join(wrong)
