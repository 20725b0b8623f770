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


def test_run_puts_config_before_the_subcommand(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    dev = _dev()
    seen: list[list[str]] = []
    monkeypatch.setattr(dev, "ensure_venv", lambda extras="": None)
    monkeypatch.setattr(dev.subprocess, "call", lambda args, cwd=None: seen.append(args) or 0)
    assert dev.main(["run", "--config", "config.toml", "-v"]) == 0
    assert seen[0][1:] == ["--config", "config.toml", "-v", "run"]
    from bot.cli import parser

    args = parser().parse_args(seen[0][1:])
    assert args.command == "run" and args.config == "config.toml" and args.verbose
    args = parser().parse_args(["run", "--config", "x.toml", "-v"])  # after it works too
    assert args.command == "run" and args.config == "x.toml" and args.verbose


def test_run_on_a_fresh_clone_writes_the_config_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    dev = _dev()
    monkeypatch.setattr(dev, "ensure_venv", lambda extras="": None)
    monkeypatch.setattr(dev.subprocess, "call", lambda args, cwd=None: 0)
    assert dev.main(["run", "--config", "config.toml"]) == 0
    assert (tmp_path / "config.toml").read_text() == (ROOT / "config.example.toml").read_text()
    assert "wrote it from config.example.toml" in capsys.readouterr().out
    assert dev.main(["run"]) == 0  # there now: left alone, nothing said
    assert capsys.readouterr().out == ""


def test_install_prints_one_line_per_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = _dev()
    (tmp_path / ".venv").mkdir()
    monkeypatch.setattr(dev, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(dev, "BIN", tmp_path / ".venv" / "bin")
    ran: list[list[str]] = []
    monkeypatch.setattr(dev.subprocess, "run", lambda args, **kw: ran.append(args))
    dev.ensure_venv("test")
    out = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0] for line in out[:3]] == [
        "dev.py [1/3",
        "dev.py [2/3",
        "dev.py [3/3",
    ]
    assert len(ran) == 3


def test_an_install_with_test_tools_also_serves_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dev = _dev()
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    monkeypatch.setattr(dev, "VENV", venv)
    monkeypatch.setattr(dev, "BIN", venv / "bin")
    (venv / ".fieldbot-installed").write_text(dev._stamp("test"))
    ran: list[list[str]] = []
    monkeypatch.setattr(dev.subprocess, "run", lambda args, **kw: ran.append(args))
    dev.ensure_venv()  # `dev.py run` after `dev.py test`: nothing to install
    assert ran == []
