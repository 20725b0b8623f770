"""Quiet hours: when a non-urgent message may go out.

The window is given in the campaign's local time and usually crosses midnight
(21:30–07:30). Equal start and end mean no quiet hours at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo


def is_quiet(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(now_utc: datetime, tz: tzinfo, start: time, end: time) -> datetime:
    """``now_utc`` itself outside quiet hours, else the moment (UTC) they end."""
    if now_utc.tzinfo is None:
        raise ValueError("next_allowed needs an aware datetime")
    local = now_utc.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if not is_quiet(clock, start, end):
        return now_utc
    day = local.date()
    if start > end and clock >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


# What waits for the morning is only what the bot sends on its own schedule: reminders,
# pace checks, period-end warnings, deadline warnings and bulletins (the key prefixes the
# scheduler's jobs give their queue items, scheduler/*.py). Everything else was caused by
# someone's action (a problem card, a notice to a reporter, a receipt, a digest of
# those): holding it would make the bot late, not quiet, so it goes at once without a
# sound. Urgent items go at once and ring.
SCHEDULED_KINDS = frozenset(
    {"nudge", "pace", "pace-group", "period-end", "deadline", "bulletin", "bulletin-chart"}
    | {"plan-due", "plan-overdue"}
)


def waits_for_morning(key: str, urgent: bool) -> bool:
    """During quiet hours: does this queue item wait until they end?"""
    return not urgent and key.split(":", 1)[0] in SCHEDULED_KINDS


def silent(quiet: bool, urgent: bool) -> bool:
    """Send without a notification sound (``disable_notification``)?"""
    return quiet and not urgent
