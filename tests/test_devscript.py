"""dev.py, the README's set-up command, passes fieldbot's options where fieldbot reads them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dev() -> Any:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dev_under_test"] = module
    spec.loader.exec_module(module)
    return module


def test_run_puts_config_before_the_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = _dev()
    seen: list[list[str]] = []
    monkeypatch.setattr(dev, "ensure_venv", lambda extras="": None)
    monkeypatch.setattr(dev.subprocess, "call", lambda args, cwd=None: seen.append(args) or 0)
    assert dev.main(["run", "--config", "config.toml", "-v"]) == 0
    assert seen[0][1:] == ["--config", "config.toml", "-v", "run"]
    from bot.cli import parser

    args = parser().parse_args(seen[0][1:])
    assert args.command == "run" and args.config == "config.toml" and args.verbose
