"""The visit use cases (services/visits.py) with plain values: what each decides and
writes, read from the outcome it returns and from the rows, without a chat."""

from __future__ import annotations

from datetime import date

from campaign.callbacks import VISIT_LOG
from campaign.message import Message
from campaign.settings import Settings
from campaign.visitform import Form
from services import drafts, visit_log, visits
from services.runtime import Deps
from services.visits import Why
from storage.db import Database
from storage.people import Cadre, cadre_by_id
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.visits_support import count, log_visit

TODAY = date(2026, 11, 16)  # the clock fixture's Monday, in Shanghai


async def _cadre(db: Database, seed: Seed, key: str) -> Cadre:
    cadre = await cadre_by_id(db, seed.cadres[key])
    assert isinstance(cadre, Cadre)
    return cadre


def _deps(settings: Settings, db: Database, clock: FakeClock) -> Deps:
    return Deps(settings, db, clock=clock)


def _form(seed: Seed, place: str = "e1", **values: object) -> Form:
    form = Form(
        place={"id": seed.places[place], "name": "x", "kind": "enterprise"},
        kinds=["policy"],
        day=TODAY.isoformat(),
        text="入户宣讲",
    )
    for name, value in values.items():
        setattr(form, name, value)
    return form


async def test_start_opens_a_draft_once_and_refuses_who_logs_none(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    opened = await visits.start(d, cadre, 901, 901, "place")
    assert opened.why is None and opened.draft is not None and opened.places
    again = await visits.start(d, cadre, 901, 901, "place")
    assert again.open is not None and again.open.id == opened.draft.id and again.draft is None
    office = await visits.start(d, await _cadre(db, seed, "office1"), 902, 902, "place")
    assert office.why is Why.NOT_FIELD_ROLE and office.draft is None


async def test_start_refuses_while_another_report_is_typed(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    await drafts.start(db, "problem", cadre.id, 903, 903, "place", {}, clock())
    opened = await visits.start(d, cadre, 903, 903, "place")
    assert opened.why is Why.OTHER_FLOW and opened.other is not None
    assert opened.other.kind == "problem"


async def test_submit_judges_once_and_writes_once(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    opened = await visits.start(d, cadre, 904, 904, "summary")
    assert opened.draft is not None
    draft_id = opened.draft.id
    missing = await visits.submit(d, cadre, draft_id, _form(seed, kinds=[]), TODAY)
    assert missing.why is Why.MISSING and missing.missing == "kinds"
    old = await visits.submit(d, cadre, draft_id, _form(seed, day="2026-11-01"), TODAY)
    assert old.why is Why.DAY and old.visit_id is None
    gone = await visits.submit(d, cadre, draft_id, _form(seed, place="v3"), TODAY)
    assert gone.why is Why.PLACE_GONE  # another team's village
    # 30.01, 114.01 is the enterprise itself; 30.2 is some 21 km north of it
    far = _form(seed, lat=30.2, lon=114.01)
    done = await visits.submit(d, cadre, draft_id, far, TODAY)
    assert done.why is None and done.visit_id is not None
    assert done.count == 1 and done.quota == settings.quotas.monthly_visits
    assert done.month is not None and done.month.start == date(2026, 11, 1)
    assert done.far_km is not None and done.far_km > settings.visits.far_km
    assert not done.quota_done
    twice = await visits.submit(d, cadre, draft_id, far, TODAY)
    assert twice.why is Why.CLOSED
    assert await count(db, "SELECT COUNT(*) FROM visits") == 1


async def test_the_visit_that_fills_the_quota_says_so(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    for _ in range(settings.quotas.monthly_visits - 1):
        await log_visit(db, cadre.id, seed.places["c1"], TODAY, now=clock())
    opened = await visits.start(d, cadre, 905, 905, "summary")
    assert opened.draft is not None
    done = await visits.submit(d, cadre, opened.draft.id, _form(seed), TODAY)
    assert done.count == settings.quotas.monthly_visits and done.quota_done
    assert done.far_km is None


async def test_amend_loses_to_a_change_made_meanwhile_and_gives_the_draft_up(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    visit_id = await log_visit(db, cadre.id, seed.places["e1"], TODAY, now=clock())
    unnamed = await visits.start_amend(d, cadre, 906, 906, None, "summary")
    assert unnamed.why is Why.UNNAMED
    opened = await visits.start_amend(d, cadre, 906, 906, visit_id, "summary")
    assert opened.draft is not None and opened.form is not None
    assert opened.form.edit_of == visit_id and opened.form.editing
    again = await visits.start_amend(d, cadre, 906, 906, visit_id, "summary")
    assert again.open is not None and again.open.id == opened.draft.id
    clock.advance(minutes=1)
    withdrawn = await visits.withdraw(d, cadre, visit_id)
    assert withdrawn.done
    lost = await visits.submit(d, cadre, opened.draft.id, opened.form, TODAY)
    assert lost.why is Why.EDIT_CONFLICT and lost.visit_id == visit_id
    assert await visits.open_draft(d, 906, 906) is None


async def test_amend_after_the_window_is_refused_to_the_author(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    visit_id = await log_visit(db, cadre.id, seed.places["e1"], TODAY, now=clock())
    opened = await visits.start_amend(d, cadre, 907, 907, visit_id, "summary")
    assert opened.draft is not None and opened.form is not None
    opened.form.text = "改正"
    clock.advance(hours=settings.visits.edit_window_hours + 1)
    late = await visits.submit(d, cadre, opened.draft.id, opened.form, TODAY)
    assert late.why is Why.WINDOW_CLOSED
    assert await visits.open_draft(d, 907, 907) is None
    refused = await visits.start_amend(d, cadre, 907, 907, visit_id, "summary")
    assert refused.why is Why.CANNOT_CHANGE


async def test_withdraw_once_and_only_ones_own(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    visit_id = await log_visit(db, cadre.id, seed.places["e1"], TODAY, now=clock())
    other = await visits.withdraw(d, await _cadre(db, seed, "cadre2"), visit_id)
    assert other.why is Why.NOT_FOUND and not other.done
    done = await visits.withdraw(d, cadre, visit_id)
    assert done.why is None and done.done
    again = await visits.withdraw(d, cadre, visit_id)
    assert again.why is Why.WITHDRAWN and not again.done
    assert await count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit_withdraw'") == 1


async def test_the_visit_log_speaks_in_plain_messages(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    """services/visit_log.py returns campaign.message values with VISIT_LOG buttons; the
    chat edge only renders them. Only the author sees the change buttons."""
    d, cadre = _deps(settings, db, clock), await _cadre(db, seed, "cadre1")
    visit_id = await log_visit(db, cadre.id, seed.places["e1"], TODAY, now=clock())
    mine = await visit_log.my_view(d, cadre, "zh-CN")
    assert isinstance(mine, Message)
    assert [b.data for b in mine.buttons[0]] == [VISIT_LOG.build("sh", visit_id)]
    visit = await visits.viewable(d, cadre, visit_id)
    assert visit is not None
    shown = visit_log.card(d, cadre, visit, "zh-CN")
    actions = [VISIT_LOG.parse(b.data).action for row in shown.buttons for b in row]
    assert actions == ["ed", "wd"]
    question = visit_log.withdraw_question(d, visit, "zh-CN")
    assert question.text == d.catalog.t("zh-CN", "visitlog.withdraw_confirm", id=visit_id)
    assert [VISIT_LOG.parse(b.data).action for b in question.buttons[0]] == ["wy", "wn"]
    # a cadre who leads no group has no /group page
    assert await visit_log.group_view(d, cadre, 0, "zh-CN") is None
