"""After the fact: a cadre's progress and latest visits (/my), a group's visits (/group),
a visit's card and the question before withdrawing it, as plain messages in the
reader's language (the chat edge renders them with handlers/screen.markup_of)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from campaign.callbacks import VISIT_LOG
from campaign.message import Button, Message, grid
from campaign.periods import quarter_of
from campaign.quotas import Progress, month_progress, quarter_progress
from campaign.roles import Role
from campaign.text import Tr, day_text, moment_text
from campaign.visit_words import kinds_text, month_label, place_name, quarter_label, summary_lines
from campaign.visitrules import ChangeRight
from services import evidence, quotas
from services.runtime import Deps
from services.visits import form_of, right_of
from storage import visits
from storage.people import Cadre
from storage.visits import Visit

RECENT = 5  # latest visits on /my
GROUP_DAYS = 30  # how far back /group looks
GROUP_PAGE = 8  # visits on a page of /group
_PICKS_PER_ROW = 4  # #id buttons on a row of /group


def _tr(d: Deps, lang: str) -> Tr:
    return partial(d.catalog.t, lang)


def _button(text: str, action: str, *args: object) -> Button:
    return Button(text, VISIT_LOG.build(action, *args))


def visit_line(t: Tr, visit: Visit, with_cadre: bool = False) -> str:
    """One visit in a list: #id, day, place, kinds (and who, on /group); far ones flagged."""
    r = visit.record
    day = day_text(t, r.day)
    place = place_name(t, visit.place_name, visit.place_kind)
    if not visit.active:
        return t("visitlog.line_withdrawn", id=visit.id, date=day, place=place)
    kinds = kinds_text(t, r.kinds)
    if with_cadre:
        line = t(
            "visitlog.line_group",
            id=visit.id,
            date=day,
            cadre=visit.cadre_name,
            place=place,
            kinds=kinds,
        )
    else:
        line = t("visitlog.line", id=visit.id, date=day, place=place, kinds=kinds)
    if r.far and r.distance_km is not None:
        line += " " + t("visitlog.line_far", km=f"{r.distance_km:.1f}")
    return line


def card(d: Deps, cadre: Cadre, visit: Visit, lang: str) -> Message:
    """A visit's card; the ✏️ and withdraw buttons only for a reader who may change it."""
    t = _tr(d, lang)
    today = d.local_now().date()
    lines = [t("visitlog.card_title", id=visit.id), ""]
    lines += summary_lines(t, form_of(visit), d.settings, today)
    lines.append(t("visitlog.card_cadre", cadre=visit.cadre_name))
    lines.append(t("visitlog.card_created", time=moment_text(t, visit.created_at, d.settings.tz)))
    if not visit.active:
        lines.append(t("visitlog.card_status_withdrawn"))
        return Message("\n".join(lines))
    right = right_of(d, cadre, visit)
    if right is None:
        shown = Message("\n".join(lines))
        return evidence.with_button(shown, evidence.visit_button(d, visit, lang))
    if right is ChangeRight.OWN:
        until = visit.created_at + timedelta(hours=d.settings.visits.edit_window_hours)
        until_text = moment_text(t, until, d.settings.tz)
        lines.append(t("visitlog.card_can_change_until", time=until_text))
    else:
        lines.append(t("visitlog.card_leader_can_change"))
    buttons = (
        _button(t("visitlog.edit"), "ed", visit.id),
        _button(t("visitlog.withdraw"), "wd", visit.id),
    )
    shown = Message("\n".join(lines), (buttons,))
    return evidence.with_button(shown, evidence.visit_button(d, visit, lang))


def withdraw_question(d: Deps, visit: Visit, lang: str) -> Message:
    t = _tr(d, lang)
    buttons = (
        _button(t("visitlog.withdraw_yes"), "wy", visit.id),
        _button(t("visitlog.withdraw_no"), "wn", visit.id),
    )
    return Message(t("visitlog.withdraw_confirm", id=visit.id), (buttons,))


def _progress_lines(t: Tr, p: Progress, label: str) -> list[str]:
    tally = p.tally
    lines = [
        t(
            "visitlog.period_line",
            period=label,
            visits=tally.visits,
            visits_quota=p.visits_quota,
            days=tally.days,
            days_quota=p.days_quota,
            places=tally.places,
        )
    ]
    if p.done:
        lines.append(t("visitlog.pace_done"))
    elif p.on_pace:
        lines.append(t("visitlog.pace_ok"))
    else:
        lines.append(
            t(
                "visitlog.pace_behind",
                expected_visits=p.expected_visits,
                expected_days=p.expected_days,
            )
        )
    if tally.by_kind:
        kinds = " · ".join(f"{t(f'kinds.{k}')} {n}" for k, n in tally.by_kind.items())
        lines.append(t("visitlog.by_kind", kinds=kinds))
    else:
        lines.append(t("visitlog.by_kind_none"))
    return lines


async def my_view(d: Deps, cadre: Cadre, lang: str) -> Message:
    """/my: the cadre's progress against the quotas this month and quarter, and their
    latest visits with a button to open each."""
    t = _tr(d, lang)
    today = d.local_now().date()
    quarter = quarter_of(today)
    facts = await visits.facts_for(d.db, cadre.id, quarter.start, quarter.end)
    cal = d.calendar()
    fitting = await quotas.for_cadre(d, cadre)  # the role's and the unit's quotas
    month = month_progress(facts, today, fitting, cal)
    whole = quarter_progress(facts, today, fitting, cal)
    recent = await visits.recent_for_cadre(d.db, cadre.id, RECENT)
    lines = [t("visitlog.my_title", name=cadre.name), ""]
    lines += _progress_lines(t, month, month_label(t, month.period))
    lines.append("")
    lines += _progress_lines(t, whole, quarter_label(t, whole.period))
    lines.append("")
    if not recent:
        lines.append(t("visitlog.recent_none"))
        return Message("\n".join(lines))
    lines.append(t("visitlog.recent_title"))
    lines += [visit_line(t, v) for v in recent]
    picks = tuple(_button(f"#{v.id}", "sh", v.id) for v in recent)
    return Message("\n".join(lines), (picks,))


async def group_view(d: Deps, cadre: Cadre, page: int, lang: str) -> Message | None:
    """/group: a page of the visits of the group the cadre leads, dated in the last
    ``GROUP_DAYS`` days, flagged (far) ones first; None if they lead no group."""
    if cadre.role is not Role.GROUP_LEADER or cadre.group_id is None:
        return None
    t = _tr(d, lang)
    since = d.local_now().date() - timedelta(days=GROUP_DAYS - 1)
    found = await visits.group_page(d.db, cadre.group_id, since, page * GROUP_PAGE, GROUP_PAGE)
    if found.total == 0:
        return Message(t("visitlog.group_empty", group=cadre.group_name, days=GROUP_DAYS))
    pages = max(1, -(-found.total // GROUP_PAGE))
    lines = [
        t(
            "visitlog.group_title",
            group=cadre.group_name,
            days=GROUP_DAYS,
            total=found.total,
            far=found.far,
        ),
        t("visitlog.group_page", page=page + 1, pages=pages),
        "",
    ]
    lines += [visit_line(t, v, with_cadre=True) for v in found.visits]
    picks = [_button(f"#{v.id}", "sh", v.id) for v in found.visits]
    rows = list(grid(picks, _PICKS_PER_ROW))
    nav = []
    if page > 0:
        nav.append(_button(t("visitlog.prev"), "gp", page - 1))
    if page < pages - 1:
        nav.append(_button(t("visitlog.next"), "gp", page + 1))
    if nav:
        rows.append(tuple(nav))
    return Message("\n".join(lines), tuple(rows))
