"""Problem deadlines: the colour warnings to the owner, and auto-escalation. Both are
the problem ledger's use cases (services/problem_deadlines.py, services/problems.py);
this job asks them what is due now and hands the warnings to the runner to queue.
"""

from __future__ import annotations

import logging
from datetime import datetime

from services import problem_deadlines, problems
from services.jobs import Outgoing
from services.runtime import Deps

log = logging.getLogger(__name__)


async def deadline_items(deps: Deps, now: datetime) -> list[Outgoing]:
    """The blue/yellow/red warnings due at ``now``."""
    return [Outgoing(w.key, w.chat_id, w.text) for w in await problem_deadlines.warnings(deps, now)]


async def escalate_overdue(deps: Deps, now: datetime) -> list[int]:
    """Move overdue problems up one level; the service writes the events and notices."""
    moved = await problems.escalate_overdue(deps, now)
    if moved:
        log.info("auto-escalated %d overdue problem(s): %s", len(moved), moved)
    return moved
