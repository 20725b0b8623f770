"""The steps of raising a problem on the step engine (handlers/flow.py): what each step
asks, rebuilt from the draft alone (so a restart, a re-ask after bad input, an old
button's redraw and a change from the summary all show the same question), and how it
reads the answer. Submitting and joining are services (services/problems.py).

Place → (open problems already raised there: join one as "same problem") → category →
description → photos → urgent? → can our group solve it? → summary (Submit / change /
Cancel) → receipt with the number P-<id>.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TelegramError

from campaign.callbacks import PROBLEM
from campaign.ladder import MAX_DESCRIPTION, MAX_PHOTOS
from campaign.message import Button, Message, grid
from campaign.problem_cards import number
from campaign.text import clean_text, shorten
from campaign.vocabulary import PROBLEM_CATEGORIES
from handlers.flow import END, Flow, Session, Step
from handlers.flow_form import EngineForm
from services import problem_raise, problems
from services.problem_raise import Place
from services.problem_render import card_view, renderer
from services.problems import NewProblem

log = logging.getLogger(__name__)

KIND = "problem"  # the draft kind and the ConversationHandler name

# Steps: the draft's ``step`` column holds one of them.
PLACE = "place"
DUPLICATE = "duplicate"
CATEGORY = "category"
DESCRIPTION = "description"
PHOTOS = "photos"
URGENT = "urgent"
SOLVABLE = "solvable"
SUMMARY = "summary"
EDIT = "edit"
FIELDS = {
    "place": PLACE,
    "category": CATEGORY,
    "description": DESCRIPTION,
    "photos": PHOTOS,
    "urgent": URGENT,
    "solvable": SOLVABLE,
}
_ORDER = [CATEGORY, DESCRIPTION, PHOTOS, URGENT, SOLVABLE, SUMMARY]
_EXCERPT = 60


@dataclass
class Form(EngineForm):
    """What the draft holds."""

    place_id: int | None = None
    place_name: str = ""
    village: int | None = None  # a village whose households are listed
    query: str | None = None  # typed text the place list is searched for
    category: str | None = None
    description: str | None = None
    photos: list[list[str]] = field(default_factory=list)  # [file_id, file_unique_id]
    album: str | None = None  # the album the last photo came in
    urgent: bool = False
    solvable: bool = False
    editing: bool = False  # a field is being changed from the summary: back there next


S = Session[Form]


def t(s: S, key: str, /, **values: Any) -> str:
    return s.w.t(f"problems.raise.{key}", **values)


def route(s: S, step: str) -> str:
    """The step after ``step`` (back to the summary while a field is being changed)."""
    if s.form.editing:
        return SUMMARY
    if step in (PLACE, DUPLICATE):
        return CATEGORY
    nxt = _ORDER[_ORDER.index(step) + 1]
    if nxt == SOLVABLE and s.cadre.group_id is None:
        return SUMMARY
    return nxt


def _place_label(s: S, p: Place) -> str:
    if p.village_name:
        return s.w.t("problems.card.place_in_village", place=p.name, village=p.village_name)
    return p.name


def _with_cancel(s: S, rows: tuple[tuple[Button, ...], ...]) -> tuple[tuple[Button, ...], ...]:
    return (*rows, (s.cancel_button(),))


# --- place -----------------------------------------------------------------------------


async def ask_place(s: S) -> Message:
    f = s.form
    if f.village:
        found = await problem_raise.households_of(s.d, s.cadre, f.village)
        picks = [s.button(t(s, "place_button", name=p.name), "place", p.id) for p in found]
        back = s.button(t(s, "back_button"), "back")
        return Message(t(s, "ask_household"), _with_cancel(s, (*grid(picks), (back,))))
    lines: list[str] = []
    if f.query:
        matches = await problem_raise.search_places(s.d, s.cadre, f.query)
        if matches:
            picks = [
                s.button(t(s, "place_button", name=_place_label(s, p)), "place", p.id)
                for p in matches
            ]
            return Message(t(s, "matches"), _with_cancel(s, grid(picks)))
        lines.append(t(s, "no_match", text=f.query))
    places = await problem_raise.places_for(s.d, s.cadre)
    lines.append(t(s, "ask_place"))
    buttons: list[Button] = []
    for p in places:
        buttons.append(s.button(t(s, "place_button", name=p.name), "place", p.id))
        if p.households:
            label = t(s, "households_button", name=p.name, count=p.households)
            buttons.append(s.button(label, "vill", p.id))
    if not places:
        lines.append(t(s, "no_places"))
    return Message("\n".join(lines), _with_cancel(s, grid(buttons)))


async def place_typed(s: S) -> object:
    """Typed text at the place step: the places whose name contains it."""
    s.form.query = clean_text(s.message.text or "")[:50] or None
    s.form.village = None
    return await s.go(PLACE)


async def village_pressed(s: S) -> object:
    assert s.cb is not None
    place = await problem_raise.place_in_scope(s.d, s.cadre, s.cb.int_arg(1))
    if place is None or place.kind != "village":
        return await s.go(PLACE, note=t(s, "bad_place"))
    s.form.village, s.form.query = place.id, None
    return await s.go(PLACE)


async def places_back(s: S) -> object:
    s.form.village, s.form.query = None, None
    return await s.go(PLACE)


async def place_pressed(s: S) -> object:
    assert s.cb is not None
    place = await problem_raise.place_in_scope(s.d, s.cadre, s.cb.int_arg(1))
    if place is None:
        return await s.go(PLACE, note=t(s, "bad_place"))
    f = s.form
    f.village, f.query = None, None
    f.place_id, f.place_name = place.id, _place_label(s, place)
    if await problem_raise.duplicates(s.d, place.id, s.cadre):
        return await s.go(DUPLICATE)
    return await s.forward()


# --- same problem? ---------------------------------------------------------------------


async def ask_duplicate(s: S) -> Message:
    assert s.form.place_id is not None
    found = await problem_raise.duplicates(s.d, s.form.place_id, s.cadre)
    r = renderer(s.d, s.w.lang)
    lines = [t(s, "duplicates", place=s.form.place_name)]
    rows: list[tuple[Button, ...]] = []
    for dup in found:
        q = dup.problem
        line = t(
            s,
            "duplicate_line",
            number=number(q.id),
            category=s.w.t(f"categories.{q.category}"),
            status=r.status(card_view(q)),
            name=q.reporter_name,
            text=shorten(q.description, _EXCERPT),
        )
        lines.append(line + (t(s, "already_yours") if dup.mine else ""))
        if not dup.mine:
            rows.append((s.button(t(s, "join_button", number=number(q.id)), "join", q.id),))
    rows.append((s.button(t(s, "new_button"), "new"),))
    return Message("\n".join(lines), _with_cancel(s, tuple(rows)))


async def join_pressed(s: S) -> object:
    """ "Same problem": the cadre joins it and the draft ends."""
    assert s.cb is not None and s.form.place_id is not None
    problem_id = s.cb.int_arg(1)
    candidates = await problem_raise.duplicates(s.d, s.form.place_id, s.cadre)
    if problem_id not in {c.problem.id for c in candidates}:
        return await s.go(DUPLICATE, note=t(s, "join_gone"))
    outcome = await problems.join_problem(
        s.d,
        draft_id=s.draft.id,
        cadre=s.cadre,
        problem_id=problem_id,
        chat_id=s.chat_id,
        lang=s.w.lang,
    )
    if outcome.result is problems.Joined.CLOSED:
        return await s.go(DUPLICATE, note=outcome.text)
    await tell(s, f"join:{s.draft.id}", Message(outcome.text), edit=True)
    return END


async def new_pressed(s: S) -> object:
    return await s.forward()


# --- category, description, photos, urgent, solvable -----------------------------------


async def ask_category(s: S) -> Message:
    picks = [s.button(s.w.t(f"categories.{c}"), "cat", c) for c in PROBLEM_CATEGORIES]
    return Message(t(s, "ask_category"), _with_cancel(s, grid(picks)))


async def category_pressed(s: S) -> object:
    assert s.cb is not None
    choice = s.cb.args[1]
    if choice not in PROBLEM_CATEGORIES:
        return await s.go(CATEGORY)
    s.form.category = choice
    return await s.forward()


async def ask_description(s: S) -> Message:
    return Message(t(s, "ask_description", max=MAX_DESCRIPTION), ((s.cancel_button(),),))


async def description_typed(s: S) -> object:
    text = clean_text(s.message.text or "")
    if not text:
        return await s.go(DESCRIPTION, note=t(s, "empty"))
    if len(text) > MAX_DESCRIPTION:
        return await s.go(DESCRIPTION, note=t(s, "too_long", length=len(text), max=MAX_DESCRIPTION))
    s.form.description = text
    return await s.forward()


async def ask_photos(s: S) -> Message:
    count = len(s.form.photos)
    key = "photos_done_button" if count else "skip_button"
    done = s.button(t(s, key, count=count), "pdone")
    return Message(t(s, "ask_photos", max=MAX_PHOTOS), ((done,), (s.cancel_button(),)))


async def photo_sent(s: S) -> object:
    """A photo (or one picture of an album): kept once, answered once per album."""
    f = s.form
    biggest = s.message.photo[-1]
    album = s.message.media_group_id
    same_album = album is not None and f.album == album
    if len(f.photos) >= MAX_PHOTOS:
        if not same_album:
            await s.say(Message(t(s, "photos_full", max=MAX_PHOTOS)))
        return None
    if all(u != biggest.file_unique_id for _, u in f.photos):
        f.photos.append([biggest.file_id, biggest.file_unique_id])
    f.album = album
    if same_album:
        await s.persist(PHOTOS)
        return PHOTOS
    return await s.go(PHOTOS, note=t(s, "photo_saved", count=len(f.photos)))


async def photos_done(s: S) -> object:
    s.form.album = None
    return await s.forward()


async def ask_urgent(s: S) -> Message:
    yes = s.button(t(s, "urgent_yes"), "urg", 1)
    no = s.button(t(s, "urgent_no"), "urg", 0)
    return Message(t(s, "ask_urgent"), ((yes, no), (s.cancel_button(),)))


async def urgent_pressed(s: S) -> object:
    assert s.cb is not None
    s.form.urgent = s.cb.args[1] == "1"
    return await s.forward()


async def ask_solvable(s: S) -> Message:
    yes = s.button(t(s, "solvable_yes"), "solv", 1)
    no = s.button(t(s, "solvable_no"), "solv", 0)
    text = t(s, "ask_solvable", group=s.cadre.group_name)
    return Message(text, ((yes,), (no,), (s.cancel_button(),)))


async def solvable_pressed(s: S) -> object:
    assert s.cb is not None
    s.form.solvable = s.cb.args[1] == "1"
    return await s.forward()


# --- summary, changes, submit ----------------------------------------------------------


async def summary_text(s: S) -> str:
    f = s.form
    level = await problem_raise.planned_level(s.d, s.cadre, f.solvable)
    return t(
        s,
        "summary",
        place=f.place_name,
        category=s.w.t(f"categories.{f.category or 'other'}"),
        text=f.description or "",
        photos=len(f.photos),
        urgent=t(s, "urgent_yes" if f.urgent else "urgent_no"),
        level=s.w.t(f"levels.{level}"),
    )


async def ask_summary(s: S) -> Message:
    submit = s.button(t(s, "submit_button"), "submit")
    change = s.button(t(s, "edit_button"), "edit")
    return Message(await summary_text(s), ((submit, change, s.cancel_button()),))


async def change_pressed(s: S) -> object:
    return await s.go(EDIT)


async def ask_field(s: S) -> Message:
    names = [f for f in FIELDS if f != "solvable" or s.cadre.group_id is not None]
    picks = [s.button(t(s, f"field_{f}"), "field", f) for f in names]
    back = s.button(t(s, "back_button"), "back")
    return Message(t(s, "ask_field"), _with_cancel(s, (*grid(picks), (back,))))


async def field_pressed(s: S) -> object:
    assert s.cb is not None
    name = s.cb.args[1]
    if name not in FIELDS:
        return await s.go(EDIT)
    s.form.editing = True
    s.form.village, s.form.query = None, None
    if name == "photos":
        s.form.photos = []
    return await s.go(FIELDS[name])


async def summary_back(s: S) -> object:
    return await s.go(SUMMARY)


async def submit_pressed(s: S) -> object:
    """Submit: the service writes the problem and closes the draft in one transaction."""
    f = s.form
    for name, step in (("place_id", PLACE), ("category", CATEGORY), ("description", DESCRIPTION)):
        if not getattr(f, name):
            return await s.go(step)
    assert f.place_id is not None and f.category is not None and f.description is not None
    if await problem_raise.place_in_scope(s.d, s.cadre, f.place_id) is None:
        # The roster changed since the place was chosen (moved group, place retired).
        return await s.go(PLACE, note=t(s, "bad_place"))
    card = await summary_text(s)
    new = NewProblem(
        place_id=f.place_id,
        category=f.category,
        description=f.description,
        urgent=f.urgent,
        group_can_solve=f.solvable,
        photos=tuple((str(a), str(b)) for a, b in f.photos),
    )
    outcome = await problems.raise_problem(
        s.d, draft_id=s.draft.id, reporter=s.cadre, new=new, chat_id=s.chat_id, lang=s.w.lang
    )
    if outcome.problem_id is None:
        await s.show(Message(outcome.text))
        return END
    title = t(s, "submitted_card", number=number(outcome.problem_id))
    await tell(s, f"receipt:{outcome.problem_id}", Message(f"{title}\n\n{card}"), edit=True)
    await tell(s, f"receipt:{outcome.problem_id}", Message(outcome.text))
    return END


async def tell(s: S, key: str, message: Message, *, edit: bool = False) -> None:
    """Show the outcome of a submitted report. The press was answered already, so when
    the send fails the outgoing queue delivers the words: the report is in, and the cadre
    must learn it."""
    try:
        await (s.show(message) if edit else s.say(message))
    except TelegramError as exc:
        log.warning("the outcome of a report was not delivered, queued instead: %s", exc)
        await problems.queue_lost_reply(s.d, key=key, chat_id=s.chat_id, text=message.text)


# --- the flow as the engine runs it ----------------------------------------------------

USE_BUTTONS = "use_buttons"

FLOW_STEPS: list[Step[Form]] = [
    Step(
        PLACE,
        ask_place,
        buttons={"place": place_pressed, "vill": village_pressed, "back": places_back},
        text=place_typed,
        hint=USE_BUTTONS,
    ),
    Step(
        DUPLICATE,
        ask_duplicate,
        buttons={"join": join_pressed, "new": new_pressed},
        hint=USE_BUTTONS,
    ),
    Step(CATEGORY, ask_category, buttons={"cat": category_pressed}, hint=USE_BUTTONS),
    Step(DESCRIPTION, ask_description, text=description_typed, hint="text_please"),
    Step(PHOTOS, ask_photos, buttons={"pdone": photos_done}, photo=photo_sent, hint=USE_BUTTONS),
    Step(URGENT, ask_urgent, buttons={"urg": urgent_pressed}, hint=USE_BUTTONS),
    Step(SOLVABLE, ask_solvable, buttons={"solv": solvable_pressed}, hint=USE_BUTTONS),
    Step(
        SUMMARY,
        ask_summary,
        buttons={"submit": submit_pressed, "edit": change_pressed},
        hint=USE_BUTTONS,
    ),
    Step(EDIT, ask_field, buttons={"field": field_pressed, "back": summary_back}, hint=USE_BUTTONS),
]


def flow(entries: list[Any]) -> Flow[Form]:
    """The raising flow, entered through ``entries`` (handlers/problems.py)."""
    return Flow(
        kind=KIND,
        ns=PROBLEM,
        texts="problems.raise",
        load=Form.load,
        steps=FLOW_STEPS,
        entries=entries,
        cancel="cancel",
        route=route,
        number=number,
    )
