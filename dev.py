#!/usr/bin/env python3
"""Set up and run Fieldbot with nothing but Python 3.11.

python3 dev.py run [fieldbot args...]   create .venv, install, run the bot
python3 dev.py test [pytest args...]    create .venv, install with test extras, run
                                        ruff, mypy and the whole test suite
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


def ensure_venv(extras: str = "") -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may run on an older python3)
        sys.exit("Fieldbot needs Python 3.11 or newer.")
    if not (BIN / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    stamp_file = VENV / ".fieldbot-installed"
    stamp = _stamp(extras)
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    target = f".[{extras}]" if extras else "."
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "install", "-e", target], check=True, cwd=ROOT)
    stamp_file.write_text(stamp)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "run":
        ensure_venv()
        # `dev.py run --config x.toml -v`: those are fieldbot's own options, before `run`.
        return subprocess.call([str(BIN / "fieldbot"), *rest, "run"], cwd=ROOT)
    if cmd == "fieldbot":
        ensure_venv()
        return subprocess.call([str(BIN / "fieldbot"), *rest], cwd=ROOT)
    if cmd == "test":
        ensure_venv("test")
        py = str(BIN / "python")
        for step in (
            [py, "-m", "ruff", "check", "."],
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
