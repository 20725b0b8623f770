"""Build examples/roster.xlsx from the demo CSV files in examples/roster/.

The CSV files are the source; the workbook is what office staff open. Both are in the
format ``fieldbot roster export`` writes. Run from the repository root:

    .venv/bin/python examples/make_xlsx.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from campaign.i18n import default_catalog
from campaign.roster import render_issue, roster_rows, validate
from campaign.roster_files import read_roster, write_xlsx

HERE = Path(__file__).resolve().parent


def main() -> int:
    checked = validate(read_roster(HERE / "roster"))
    if checked.roster is None:
        for issue in checked.errors:
            print(render_issue(issue, default_catalog(), "en"), file=sys.stderr)
        return 1
    target = HERE / "roster.xlsx"
    write_xlsx(target, roster_rows(checked.roster))
    print(f"wrote {target} ({checked.roster.counts()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
