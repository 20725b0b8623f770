#!/usr/bin/env python3
"""Set up and run Fieldbot with nothing but Python 3.11.

python3 dev.py run [fieldbot args...]   create .venv, install, run the bot
python3 dev.py test [pytest args...]    create .venv, install with test extras, run
                                        ruff (lint and format), mypy and the whole test suite
python3 dev.py fieldbot ARGS...         any other fieldbot command (roster, migrate ...)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _stamp(extras: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"{digest}-{extras}"


def _step(n: int, total: int, text: str) -> None:
    print(f"dev.py [{n}/{total}] {text}", flush=True)


def ensure_venv(extras: str = "") -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may run on an older python3)
        sys.exit("Fieldbot needs Python 3.11 or newer.")
    stamp_file = VENV / ".fieldbot-installed"
    stamp = _stamp(extras)
    # An install with the test extras also serves `run`: no reinstall when switching.
    done = stamp_file.read_text() if stamp_file.exists() else ""
    if (BIN / "python").exists() and done in (stamp, _stamp("test") if not extras else stamp):
        return
    # One line per step: the install takes a minute or two and pip itself is kept quiet.
    if not (BIN / "python").exists():
        _step(1, 3, f"creating the environment {VENV.name}/")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    else:
        _step(1, 3, f"the environment {VENV.name}/ is there; its packages are out of date")
    target = f".[{extras}]" if extras else "."
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    _step(2, 3, "updating pip")
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True, cwd=ROOT)
    what = f"Fieldbot with its {extras} tools" if extras else "Fieldbot"
    _step(3, 3, f"installing {what} and its dependencies (a minute or two the first time)")
    subprocess.run([*pip, "install", "-e", target], check=True, cwd=ROOT)
    stamp_file.write_text(stamp)
    print("dev.py: ready", flush=True)


def ensure_config(args: list[str]) -> None:
    """`dev.py run` on a fresh clone: no config file yet, so write one from the example
    (every key at its documented default; the token can stay in FIELDBOT_TOKEN)."""
    path = Path("config.toml")
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            path = Path(args[i + 1])
        elif arg.startswith("--config="):
            path = Path(arg.split("=", 1)[1])
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((ROOT / "config.example.toml").read_bytes())
    print(f"dev.py: {path} did not exist; wrote it from config.example.toml (edit it to change")
    print("        settings; the token is read from FIELDBOT_TOKEN when the file has none)")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    # fieldbot runs in the caller's folder: paths they type mean what they expect.
    if cmd == "run":
        ensure_venv()
        ensure_config(rest)
        # `dev.py run --config x.toml -v`: those are fieldbot's own options, before `run`.
        return subprocess.call([str(BIN / "fieldbot"), *rest, "run"])
    if cmd == "fieldbot":
        ensure_venv()
        return subprocess.call([str(BIN / "fieldbot"), *rest])
    if cmd == "test":
        ensure_venv("test")
        py = str(BIN / "python")
        for step in (
            [py, "-m", "ruff", "check", "."],
            [py, "-m", "ruff", "format", "--check", "."],
            [py, "-m", "mypy"],
            [py, "-m", "pytest", *rest],
        ):
            print("+", " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)))
            code = subprocess.call(step, cwd=ROOT)
            if code != 0:
                return code
        return 0
    print(f"unknown command {cmd!r}\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
