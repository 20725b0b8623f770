"""Call-back figures as the reports show them: the /summary section (and the bulletin's
lines), and the export's call-back sheet rows. Plain values in, text out."""

from __future__ import annotations

from dataclasses import dataclass

from campaign.problem_callbacks import Satisfaction, percent
from campaign.text import Tr


@dataclass(frozen=True)
class CallbackFigures:
    satisfaction: Satisfaction
    reopened: int
    waiting: int  # asked and still unanswered now


def summary_section(t: Tr, f: CallbackFigures) -> str:
    """满意率 and reopenings: a section under the summary."""
    s = f.satisfaction
    return "\n".join(
        [
            t("callbacks.summary.head"),
            t(
                "callbacks.summary.line",
                answered=s.answered,
                satisfied=s.satisfied,
                fair=s.fair,
                unsatisfied=s.unsatisfied,
                rate=percent(s.rate),
            ),
            t("callbacks.summary.reopened", reopened=f.reopened, waiting=f.waiting),
        ]
    )
