"""The workbook's visits sheet on two cores: the later visits in a second process.

A year's export is mostly its visits sheet (about three quarters of the CPU time: reading
the visits, building and formatting the cells, compressing the XML). Above
``SPLIT_ROWS`` visit rows, ``services.reports.export_workbook`` has a second process
make the later part of them (``CHILD_SHARE`` of the rows, whole days, from ``since``):
it reads them from the database on its own connection, formats them exactly as the
sheet would and deflates them into a piece of that sheet's zip member (numbered from
the row after the first part). Meanwhile this process writes the first part and every
other sheet; the piece is spliced in at the end (``reports.xlsxstream``).

The second process is a fresh interpreter (``python -m services.export_parts``, the
``spawn`` way: never a fork of a bot with threads and an event loop), given its job as
a pickle on its standard input: the database's address travels there, not on a
command line. It imports only what it needs (storage, the workbook writer).

Both parts show one state of the database. On PostgreSQL the second process takes the
first one's snapshot (``pg_export_snapshot``): exactly the same rows. A SQLite snapshot
cannot be shared: the second process's rows stop at the largest visit id of the first
one's snapshot (a visit logged during the export is in neither part, as in a
one-process export), and when its count of rows differs from the first one's (a visit
withdrawn or moved across the split day in the second between the two snapshots), this
process writes those rows itself from its own snapshot instead. A visit edited in place
in that second can show its new text.

A second process that fails, dies or outlasts ``CHILD_TIMEOUT`` makes the export fail
(``ExportFailed``); it is killed and its files removed whatever happens.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from campaign.periods import Period
from campaign.reporting import Scope, VisitRow
from reports import workbook, xlsxstream
from storage import report_rows as rows
from storage import reports as q

if TYPE_CHECKING:
    from services.reports import Ask

log = logging.getLogger(__name__)

# Below this many visit rows the export stays in one process: starting the second one
# (an interpreter, its imports, its connection, its own read of names and kinds) costs
# about a second of CPU; it saves 0.2 s of wall at 5,000 rows, 0.5 s at 20,000 and
# 5 s at 250,000 (docs/reports.md has the figures).
SPLIT_ROWS = 20_000
# The second process's share of the visit rows: this process also writes every other
# sheet (about a third of the export), so the second one takes the larger part.
CHILD_SHARE = 0.72
# A second process still running after this long is killed and the export fails (the
# year takes some 10 s; the bot holds its one heavy report slot meanwhile).
CHILD_TIMEOUT = 600.0
_ROOT = Path(__file__).resolve().parent.parent
# The peak resident memory of the last second process, in MB (for bench/office.py).
last_peak_mb: float | None = None


class ExportFailed(Exception):
    """The second process of an export failed; nothing of the workbook is usable."""


@dataclass(frozen=True)
class Split:
    """Where the visits are cut: the second process writes the visits from ``since``
    (``rows`` of them, numbered from ``first_row + 1``), none above ``up_to_id``."""

    since: date
    rows: int
    first_row: int
    up_to_id: int


@dataclass(frozen=True)
class Job:
    """What the second process is given."""

    db_path: str
    scope: Scope
    period: Period
    split: Split
    tz: tzinfo
    texts: dict[str, str]
    snapshot: str | None
    out: str


def plan(conn: q.Conn, ask: Ask) -> Split | None:
    """Where to cut the period's visits, or None for one process (few visits, or more
    than one sheet holds: the continuation sheet is numbered as it goes)."""
    days, top = rows.visit_days(conn, ask.scope, ask.period)
    total = sum(n for _, n in days)
    if total < SPLIT_ROWS or total + 1 >= xlsxstream.MAX_ROWS:
        return None
    first = total * (1 - CHILD_SHARE)
    before = 0
    for i, (day, n) in enumerate(days):
        if before + n > first and i > 0:
            return Split(date.fromisoformat(day), total - before, 1 + before, top)
        before += n
    return None


class Child:
    """The second process, started at once; ``result`` waits for its piece."""

    def __init__(self, job: Job, folder: str) -> None:
        self.job = job
        self._folder = folder
        self._errors = Path(folder, "errors.txt")
        self._result = Path(folder, "result.pickle")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
        with self._errors.open("wb") as errors, self._result.open("wb") as result:
            self._proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
                child_command(),
                stdin=subprocess.PIPE,
                stdout=result,
                stderr=errors,
                env=env,
            )
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(pickle.dumps(job))
            self._proc.stdin.close()
        except OSError:  # it died at once: ``result`` says so
            pass

    def result(self) -> xlsxstream.Piece:
        try:
            code = self._proc.wait(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ExportFailed("the export's second process did not finish in time") from None
        if code != 0:
            said = self._errors.read_text("utf-8", "replace").strip().splitlines()
            last = f": {said[-1]}" if said else ""
            raise ExportFailed(f"the export's second process ended with {code}{last}")
        try:
            with self._result.open("rb") as f:
                answer = pickle.load(f)  # noqa: S301  (written by our own second process)
        except Exception as e:
            raise ExportFailed("the export's second process gave no result") from e
        match answer:
            case (xlsxstream.Piece() as piece, float() as peak):
                global last_peak_mb  # noqa: PLW0603  (a figure for the bench, nothing more)
                last_peak_mb = peak
                return dataclasses.replace(piece, path=self.job.out)  # only our own file
        raise ExportFailed("the export's second process gave no result")

    def stop(self) -> None:
        """Killed if still running; its files removed."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        shutil.rmtree(self._folder, ignore_errors=True)


def child_command() -> list[str]:
    return [sys.executable, "-m", "services.export_parts"]


def start(conn: q.Conn, ask: Ask, split: Split) -> Child | None:
    """The second process, given the snapshot of ``conn`` to read when it can; None
    when no process can be started here (the export then runs in one)."""
    folder = tempfile.mkdtemp(prefix="fieldbot-export-")
    try:
        where = ask.db_path
        if not where.startswith(("postgresql://", "postgres://")):
            where = str(Path(where).resolve())  # the same file whatever the child's folder
        job = Job(
            db_path=where,
            scope=ask.scope,
            period=ask.period,
            split=split,
            tz=ask.settings.tz,
            texts=workbook.visit_texts(ask.t),
            snapshot=q.export_snapshot(conn),
            out=str(Path(folder, "piece.deflate")),
        )
        return Child(job, folder)
    except OSError:
        log.warning("no second process for the export: it runs in one", exc_info=True)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def rest(child: Child, conn: q.Conn, ask: Ask) -> xlsxstream.Piece | Iterable[VisitRow]:
    """The later visits: the second process's piece, or the rows from ``conn`` when
    its snapshot did not give the same number of them (see the module's notes)."""
    piece = child.result()
    split = child.job.split
    if piece.rows == split.rows:
        return piece
    log.warning(
        "the export's second process read %d later visits where this one has %d:"
        " written from this snapshot instead",
        piece.rows,
        split.rows,
    )
    return rows.visit_rows(conn, ask.scope, ask.period, since=split.since)


def run(job: Job) -> xlsxstream.Piece:
    """The second process's work: its visits, formatted and deflated into ``job.out``."""
    split = job.split
    with q.reading(job.db_path, snapshot=job.snapshot) as conn, open(job.out, "wb") as out:
        visits = rows.visit_rows(
            conn, job.scope, job.period, since=split.since, up_to_id=split.up_to_id
        )
        sheet = workbook.visit_fragment(out, visits, job.texts.__getitem__, job.tz, split.first_row)
    return xlsxstream.piece_of(sheet, job.out, split.first_row)


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` (Linux) counts from the exec;
    ``ru_maxrss`` also holds the memory of the process that started us (Linux keeps
    it across the exec), so it is only the fallback."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # noqa: PLC0415  (POSIX only)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    job = pickle.load(sys.stdin.buffer)  # noqa: S301  (from the process that started us)
    piece = run(job)
    pickle.dump((piece, peak_rss_mb()), sys.stdout.buffer)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
