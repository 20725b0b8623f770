"""The steps of raising a problem and what each asks, rebuilt from the draft alone
(so that a restart, a re-ask after bad input and a change from the summary all show the
same prompt)."""

from __future__ import annotations

from typing import Any

from telegram import Update

from campaign import callbacks
from campaign.ladder import MAX_DESCRIPTION, MAX_PHOTOS
from campaign.problem_cards import Renderer, number
from campaign.vocabulary import PROBLEM_CATEGORIES
from handlers import screen
from handlers.common import Context, Who, deps, reply
from handlers.screen import Button
from services import problem_raise
from services.problem_raise import Draft

KIND = "problem"  # the draft kind and the ConversationHandler name
NS = callbacks.PROBLEM

# Steps (conversation states); the draft's ``step`` column holds one of them.
PLACE = "place"
DUPLICATE = "duplicate"
CATEGORY = "category"
DESCRIPTION = "description"
PHOTOS = "photos"
URGENT = "urgent"
SOLVABLE = "solvable"
SUMMARY = "summary"
EDIT = "edit"
STEPS = (PLACE, DUPLICATE, CATEGORY, DESCRIPTION, PHOTOS, URGENT, SOLVABLE, SUMMARY, EDIT)

# Which buttons belong to which step: an older button of the same draft is refused.
STEP_BUTTONS: dict[str, frozenset[str]] = {
    PLACE: frozenset({"place", "vill", "back"}),
    DUPLICATE: frozenset({"join", "new"}),
    CATEGORY: frozenset({"cat"}),
    DESCRIPTION: frozenset(),
    PHOTOS: frozenset({"pdone"}),
    URGENT: frozenset({"urg"}),
    SOLVABLE: frozenset({"solv"}),
    SUMMARY: frozenset({"submit", "edit"}),
    EDIT: frozenset({"field", "back"}),
}
FIELDS = ("place", "category", "description", "photos", "urgent", "solvable")


def button(w: Who, key: str, action: str, draft_id: int, *args: object, **values: Any) -> Button:
    return screen.button(w.t(key, **values), NS.build(action, draft_id, *args))


def cancel_row(w: Who, draft: Draft) -> list[Button]:
    return [button(w, "problems.raise.cancel_button", "cancel", draft.id)]


def two_columns(buttons: list[Button]) -> list[list[Button]]:
    return screen.rows(buttons)


# --- prompts: what each step asks, rebuilt from the draft ------------------------------


async def prompt(update: Update, context: Context, w: Who, draft: Draft, note: str = "") -> None:
    """Ask what the draft's step asks (again)."""
    d = deps(context)
    data = draft.data
    step = draft.step
    lines = [note] if note else []
    markup: list[list[Button]] = []
    assert w.cadre is not None
    if step == PLACE:
        village = data.get("village")
        if village:
            places = await problem_raise.households_of(d, w.cadre, int(village))
            lines.append(w.t("problems.raise.ask_household"))
            markup += two_columns(
                [
                    button(w, "problems.raise.place_button", "place", draft.id, p.id, name=p.name)
                    for p in places
                ]
            )
            markup.append([button(w, "problems.raise.back_button", "back", draft.id)])
        else:
            places = await problem_raise.places_for(d, w.cadre)
            lines.append(w.t("problems.raise.ask_place"))
            buttons = []
            for p in places:
                buttons.append(
                    button(w, "problems.raise.place_button", "place", draft.id, p.id, name=p.name)
                )
                if p.households:
                    buttons.append(
                        button(
                            w,
                            "problems.raise.households_button",
                            "vill",
                            draft.id,
                            p.id,
                            name=p.name,
                            count=p.households,
                        )
                    )
            markup += two_columns(buttons)
            if not places:
                lines.append(w.t("problems.raise.no_places"))
    elif step == DUPLICATE:
        found = await problem_raise.duplicates(d, int(data["place_id"]), w.cadre)
        lines.append(w.t("problems.raise.duplicates", place=data.get("place_name", "")))
        r = Renderer(d.catalog, w.lang, d.settings.tz)
        for dup in found:
            q, already = dup.problem, dup.mine
            lines.append(
                w.t(
                    "problems.raise.duplicate_line",
                    number=number(q.id),
                    category=w.t(f"categories.{q.category}"),
                    status=r.status(q.view()),
                    name=q.reporter_name,
                    text=excerpt(q.description, 60),
                )
                + (w.t("problems.raise.already_yours") if already else "")
            )
            if not already:
                markup.append(
                    [
                        button(
                            w,
                            "problems.raise.join_button",
                            "join",
                            draft.id,
                            q.id,
                            number=number(q.id),
                        )
                    ]
                )
        markup.append([button(w, "problems.raise.new_button", "new", draft.id)])
    elif step == CATEGORY:
        lines.append(w.t("problems.raise.ask_category"))
        markup += two_columns(
            [
                screen.button(w.t(f"categories.{c}"), NS.build("cat", draft.id, c))
                for c in PROBLEM_CATEGORIES
            ]
        )
    elif step == DESCRIPTION:
        lines.append(w.t("problems.raise.ask_description", max=MAX_DESCRIPTION))
    elif step == PHOTOS:
        count = len(data.get("photos", []))
        lines.append(w.t("problems.raise.ask_photos", max=MAX_PHOTOS))
        key = "problems.raise.photos_done_button" if count else "problems.raise.skip_button"
        markup.append([button(w, key, "pdone", draft.id, count=count)])
    elif step == URGENT:
        lines.append(w.t("problems.raise.ask_urgent"))
        markup.append(
            [
                button(w, "problems.raise.urgent_yes", "urg", draft.id, 1),
                button(w, "problems.raise.urgent_no", "urg", draft.id, 0),
            ]
        )
    elif step == SOLVABLE:
        lines.append(w.t("problems.raise.ask_solvable", group=w.cadre.group_name))
        markup.append([button(w, "problems.raise.solvable_yes", "solv", draft.id, 1)])
        markup.append([button(w, "problems.raise.solvable_no", "solv", draft.id, 0)])
    elif step == SUMMARY:
        lines.append(await summary(context, w, data))
        markup.append(
            [
                button(w, "problems.raise.submit_button", "submit", draft.id),
                button(w, "problems.raise.edit_button", "edit", draft.id),
            ]
        )
    elif step == EDIT:
        lines.append(w.t("problems.raise.ask_field"))
        fields = [f for f in FIELDS if f != "solvable" or w.cadre.group_id is not None]
        markup += two_columns(
            [button(w, f"problems.raise.field_{f}", "field", draft.id, f) for f in fields]
        )
        markup.append([button(w, "problems.raise.back_button", "back", draft.id)])
    if step not in (SUMMARY,):
        markup.append(cancel_row(w, draft))
    else:
        markup[-1].append(cancel_row(w, draft)[0])
    await reply(update, "\n".join(lines), screen.inline(markup))


def excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def planned_level(context: Context, w: Who, data: dict[str, Any]) -> str:
    assert w.cadre is not None
    return await problem_raise.planned_level(deps(context), w.cadre, bool(data.get("solvable")))


async def summary(context: Context, w: Who, data: dict[str, Any]) -> str:
    level = await planned_level(context, w, data)
    return w.t(
        "problems.raise.summary",
        place=data.get("place_name", ""),
        category=w.t(f"categories.{data.get('category', 'other')}"),
        text=data.get("description", ""),
        photos=len(data.get("photos", [])),
        urgent=w.t(
            "problems.raise.urgent_yes" if data.get("urgent") else "problems.raise.urgent_no"
        ),
        level=w.t(f"levels.{level}"),
    )
