"""Opening the evidence of a visit or a problem: its photos (as an album), its voice
note and where it was logged (a map pin), sent again to whoever may see the record.

Who may open a visit's evidence: whoever may open its card (the author, the group
leader, the team's leaders) and whoever may read its cadre's /log in the chat asked in
(the office and inspectors, a team's leaders in their team chat). A problem's: whoever
may see its card and history (campaign.ladder.in_scope). Everyone else is told the
record was not found, so a forged button learns nothing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from campaign.callbacks import EVIDENCE
from campaign.ladder import in_scope
from campaign.media import SAVED
from campaign.message import Button, Message, grid
from campaign.periods import Period
from campaign.problem_cards import number
from campaign.text import Tr, day_text
from campaign.visit_words import place_name
from services import reports
from services.problems import actor_of
from services.runtime import Deps
from services.visits import viewable
from storage import media, problems, visits
from storage.media import MediaFile
from storage.people import Cadre
from storage.visits import Visit

ALBUM = 10  # Telegram's most photos in one album
LOG_BUTTONS = 20  # visits with evidence offered under a /log


@dataclass(frozen=True)
class Opened:
    """What to send, in order; or, when ``messages`` is empty, why not (``refusal``).
    ``kept``: for each message, the same with the files the bot downloaded (local paths,
    uploaded) in place of Telegram's file ids, to send when Telegram no longer knows the
    ids (another bot token, files gone); None where nothing is kept."""

    messages: tuple[Message, ...] = ()
    refusal: str = ""
    kept: tuple[Message | None, ...] = ()


def _tr(d: Deps, lang: str) -> Tr:
    return partial(d.catalog.t, lang)


def has_evidence(visit: Visit) -> bool:
    r = visit.record
    return bool(r.photos) or r.voice_file_id is not None or r.lat is not None


def visit_button(d: Deps, visit: Visit, lang: str) -> Button | None:
    """The 📎 button of a visit card, when the visit has anything to open."""
    if not has_evidence(visit):
        return None
    return Button(_tr(d, lang)("evidence.button"), EVIDENCE.build("v", visit.id))


def problem_button(d: Deps, problem_id: int, photos: int, lang: str) -> Button | None:
    if photos <= 0:
        return None
    return Button(_tr(d, lang)("evidence.button"), EVIDENCE.build("p", problem_id))


def with_button(message: Message, button: Button | None) -> Message:
    """``message`` with one more row of buttons (nothing added for None)."""
    if button is None:
        return message
    return Message(
        message.text,
        (*message.buttons, (button,)),
        message.photos,
        message.document,
        message.ask,
        message.ask_label,
        message.silent,
        message.extra,
        message.voice,
        message.location,
    )


def _kept_paths(d: Deps, files: Sequence[MediaFile]) -> dict[str, str]:
    """Telegram file id -> the absolute path of the downloaded copy."""
    where = d.settings.media.folder_for(d.settings.storage.database)
    if where is None:
        return {}
    root = os.path.abspath(where)
    return {f.file_id: os.path.join(root, f.path) for f in files if f.path and f.status == SAVED}


def _kept(messages: Sequence[Message], paths: dict[str, str]) -> tuple[Message | None, ...]:
    out: list[Message | None] = []
    for m in messages:
        local = tuple(paths.get(ref, "") for ref in m.photos)
        if m.photos and all(local):
            out.append(dataclasses.replace(m, photos=local))
        elif m.voice is not None and m.voice in paths:
            out.append(dataclasses.replace(m, voice=paths[m.voice]))
        else:
            out.append(None)
    return tuple(out)


def _albums(refs: Sequence[str], caption: str) -> list[Message]:
    """Photos in albums of at most ten, the caption on the first."""
    return [
        Message(caption if i == 0 else "", photos=tuple(refs[i : i + ALBUM]))
        for i in range(0, len(refs), ALBUM)
    ]


async def _may_see_visit(d: Deps, cadre: Cadre, visit_id: int, chat_id: int | None) -> Visit | None:
    """In a private chat (``chat_id`` None): the card's readers and /log's. In a group
    chat only /log's rule for that chat: every member there would see the photos."""
    if chat_id is None:
        visit = await viewable(d, cadre, visit_id)
        if visit is not None:
            return visit
    scope = (await reports.entitled(d, cadre, "log", chat_id)).scope
    if scope is None:
        return None
    visit = await visits.get(d.db, visit_id)
    return visit if visit is not None and scope.covers(visit.team_id, visit.group_id) else None


async def of_visit(
    d: Deps, cadre: Cadre, visit_id: int, lang: str, chat_id: int | None = None
) -> Opened:
    """A visit's photos, voice note and location, for whoever may see them here
    (``chat_id``: the group chat asked in; None for a private chat)."""
    t = _tr(d, lang)
    visit = await _may_see_visit(d, cadre, visit_id, chat_id)
    if visit is None:
        return Opened(refusal=t("evidence.not_found"))
    r = visit.record
    if not has_evidence(visit):
        return Opened(refusal=t("evidence.none"))
    place = place_name(t, visit.place_name, visit.place_kind)
    head = t(
        "evidence.visit_head",
        id=visit.id,
        photos=len(r.photos),
        voice=t("evidence.has_voice") if r.voice_file_id else "",
        pin=t("evidence.has_pin") if r.lat is not None else "",
    )
    paths = _kept_paths(d, await media.of_owner(d.db, "visit", visit.id))
    saved = len(paths)
    if saved:
        head += t("evidence.kept_local", saved=saved)
    out = [Message(head)]
    caption = t("evidence.photos_caption", id=visit.id, date=day_text(t, r.day), place=place)
    out += _albums([p.file_id for p in r.photos], caption)
    if r.voice_file_id:
        out.append(Message(t("evidence.voice_caption", id=visit.id), voice=r.voice_file_id))
    if r.lat is not None and r.lon is not None:
        out.append(Message(t("evidence.pin_caption", id=visit.id, place=place)))
        out.append(Message("", location=(r.lat, r.lon)))
    return Opened(tuple(out), kept=_kept(out, paths))


async def of_problem(d: Deps, cadre: Cadre, problem_id: int, lang: str) -> Opened:
    """A problem's photos, for whoever may see its card and history."""
    t = _tr(d, lang)
    problem = await problems.get(d.db, problem_id)
    if problem is None or not in_scope(
        actor_of(cadre),
        problem.team_id,
        problem.group_id,
        await problems.is_reporter(d.db, problem.id, cadre.id),
    ):
        return Opened(refusal=t("evidence.not_found"))
    refs = await media.problem_photos(d.db, problem.id)
    if not refs:
        return Opened(refusal=t("evidence.none"))
    head = t("evidence.problem_head", number=number(problem.id), photos=len(refs))
    caption = t("evidence.problem_caption", number=number(problem.id))
    out = (Message(head), *_albums(refs, caption))
    paths = _kept_paths(d, await media.of_owner(d.db, "problem", problem.id))
    return Opened(out, kept=_kept(out, paths))


async def log_buttons(d: Deps, cadre_id: int, period: Period, lang: str) -> Message | None:
    """Under a cadre's /log (already judged in scope): a 📎 button for each visit of the
    period that has photos, a voice note or a location."""
    t = _tr(d, lang)
    ids = await media.visits_with_evidence(d.db, cadre_id, period.start, period.end, LOG_BUTTONS)
    if not ids:
        return None
    picks = [Button(t("evidence.button_short", id=i), EVIDENCE.build("v", i)) for i in ids]
    return Message(t("evidence.log_head"), grid(picks, 4))
