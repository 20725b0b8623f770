"""Checking the work in the chat: the 已检查 / 需整改 buttons under /log and on a visit's
card, /check N (a visit shown to its checker), the correction items' buttons, /checks
(open corrections by team) and /inspect (an on-site inspection, 现场督查).

The words (a comment, a correction's answer with text or photos, the reason for sending
it back, an inspection's place, findings and items) are asked in the presser's private
chat on the step engine (handlers/flow.py): one dialog, keyed by the person alone. Each
press is judged before anything is asked and judged again when the words arrive
(services/checks.py), since the roster or the item may change meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign.callbacks import CHECK, CORRECTION, INSPECTION, CallbackError
from campaign.checks import MAX_ANSWER, MAX_COMMENT, MAX_ITEMS, MAX_PHOTOS
from campaign.message import Message
from campaign.periods import PeriodError, from_token, parse_day
from campaign.text import clean_text
from handlers import screen
from handlers.common import Context, Who, pressed, reply, require_cadre
from handlers.flow import END, Flow, Session, Step, entry
from handlers.flow_form import EngineForm
from services import checks
from services.checks import InspectionForm, Target

log = logging.getLogger(__name__)

KIND = "check_dialog"  # the draft kind and the ConversationHandler name

COMMENT = "comment"  # a check's comment
ANSWER = "answer"  # a correction's answer: text and/or photos
REASON = "reason"  # why a correction is sent back
I_DAY = "i_day"  # an inspection: the day,
I_PLACE = "i_place"  # the place,
I_FOUND = "i_found"  # what was found,
I_ITEMS = "i_items"  # the correction items, one a line


@dataclass
class CheckForm(EngineForm):
    mode: str = ""  # check, answer, back, inspect
    cadre_id: int = 0
    start: str = ""
    end: str = ""
    visit_id: int | None = None
    verdict: str = ""
    what: str = ""  # the log or visit checked, in words
    correction_id: int = 0
    group_id: int = 0
    group: str = ""
    day: str = ""
    place: str = ""
    findings: str = ""
    text: str = ""
    photos: list[str] = field(default_factory=list)

    def target(self) -> Target:
        return Target(
            self.cadre_id,
            date.fromisoformat(self.start),
            date.fromisoformat(self.end),
            self.visit_id,
            self.verdict,
        )


S = Session[CheckForm]


def t(s: S, key: str, /, **values: Any) -> str:
    return s.w.t(f"checks.flow.{key}", **values)


async def _alert(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


# --- entering ------------------------------------------------------------------------------


async def on_check(update: Update, context: Context) -> object:
    """已检查 / 需整改 under /log or on a visit's card: judged, then the comment asked."""
    query = update.callback_query
    assert query is not None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return END
    d = w.deps
    try:
        cb = CHECK.parse(query.data)
        if cb.action == "log":
            period = from_token(cb.args[1])
            form = CheckForm(
                "check", cb.int_arg(0), period.start.isoformat(), period.end.isoformat(),
                None, cb.args[2],
            )  # fmt: skip
        else:
            target = await checks.visit_target(d, cb.int_arg(0), cb.args[1])
            if target is None:
                await query.answer(w.t("checks.why.not_found"), show_alert=True)
                return END
            form = CheckForm(
                "check", target.cadre_id, target.start.isoformat(), target.end.isoformat(),
                target.visit_id, target.verdict,
            )  # fmt: skip
    except (CallbackError, PeriodError):
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return END
    judged = await checks.judge(d, w.cadre, form.target(), w.lang)
    if not judged.ok or judged.cadre is None:
        await query.answer(judged.text, show_alert=True)
        return END
    form.what = checks.target_text(w.t, form.target(), judged.cadre.name)
    return await FLOW.open_in_private(update, context, w, COMMENT, form, texts="checks.flow")


async def on_correction(update: Update, context: Context) -> object:
    """答复整改 (the cadre) or 退回 (the checker): judged, then the words asked."""
    p = await pressed(update, context, CORRECTION, lambda cb: cb.int_arg(0))
    if p is None:
        return END
    w, cb, correction_id, query = p.w, p.cb, p.value, p.query
    found, refusal = await checks.correction_for(w.deps, p.cadre, correction_id, cb.action, w.lang)
    if found is None:
        await query.answer(refusal, show_alert=True)
        return END
    if cb.action == "ans":
        form, step = CheckForm("answer", correction_id=found.id), ANSWER
    else:
        form, step = CheckForm("back", correction_id=found.id), REASON
    return await FLOW.open_in_private(update, context, w, step, form, texts="checks.flow")


async def _inspect(
    update: Update, context: Context, w: Who, group_text: str, group_id: int | None = None
) -> object:
    assert w.cadre is not None
    group, refusal = await checks.inspect_group(
        w.deps, w.cadre, group_text, w.lang, group_id=group_id
    )
    if group is None:
        await _alert(update, refusal)
        return END
    form = CheckForm("inspect", group_id=group.id, group=group.name)
    return await FLOW.open_in_private(update, context, w, I_DAY, form, texts="checks.flow")


async def on_inspect(update: Update, context: Context) -> object:
    """/inspect GROUP: record an on-site inspection of a group (code or name); without
    a group, pick the team and then the group with buttons."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return END
    if not context.args:
        picker = await checks.inspect_picker(w.deps, w.cadre, w.lang)
        if isinstance(picker, str):
            await reply(update, picker)
        else:
            await reply(update, picker.text, screen.markup_of(picker))
        return END
    return await _inspect(update, context, w, " ".join(context.args))


async def on_inspect_group(update: Update, context: Context) -> object:
    p = await pressed(
        update,
        context,
        INSPECTION,
        lambda cb: cb.int_arg(0) if cb.action in ("grp", "team") else None,
    )
    if p is None:
        return END
    w, cb, number, query = p.w, p.cb, p.value, p.query
    if cb.action == "grp":
        return await _inspect(update, context, w, "", group_id=number)
    picker = await checks.inspect_picker(w.deps, p.cadre, w.lang, team_id=number)
    if isinstance(picker, str):
        await query.answer(picker, show_alert=True)
        return END
    await query.answer()
    await screen.edit_pressed(context.bot, query, picker.text, screen.markup_of(picker))
    return END


# --- the steps -------------------------------------------------------------------------------


async def ask(s: S) -> Message:
    f = s.form
    cancel = (s.cancel_button(),)
    step = s.draft.step
    if step == COMMENT:
        verdict = s.w.t(f"checks.verdict.{f.verdict}")
        key = "ask_comment_fix" if f.verdict == "fix" else "ask_comment_ok"
        text = t(s, key, what=f.what, verdict=verdict, max=MAX_COMMENT)
        if f.verdict == "fix":
            return Message(text, (cancel,))
        return Message(text, ((s.button(t(s, "skip"), "skip"),), cancel))
    if step == ANSWER:
        number = checks.number(f.correction_id)
        text = t(s, "ask_answer", number=number, max=MAX_ANSWER, photos=len(f.photos))
        if f.text:
            text += "\n" + t(s, "answer_so_far", text=f.text)
        if f.text or f.photos:
            return Message(text, ((s.button(t(s, "send"), "ok"),), cancel))
        return Message(text, (cancel,))
    if step == REASON:
        return Message(t(s, "ask_reason", number=checks.number(f.correction_id)), (cancel,))
    if step == I_DAY:
        today = s.button(t(s, "today"), "day", 0)
        yesterday = s.button(t(s, "yesterday"), "day", 1)
        return Message(t(s, "ask_day", group=f.group), ((today, yesterday), cancel))
    if step == I_PLACE:
        return Message(t(s, "ask_place", group=f.group), (cancel,))
    if step == I_FOUND:
        return Message(t(s, "ask_findings"), (cancel,))
    none = s.button(t(s, "no_items"), "none")
    return Message(t(s, "ask_items", max=MAX_ITEMS), ((none,), cancel))


async def _typed(s: S, limit: int) -> str | None:
    text = clean_text(s.message.text or "")
    if not text:
        await s.go(s.draft.step, note=t(s, "empty"))
        return None
    if len(text) > limit:
        await s.go(s.draft.step, note=t(s, "too_long", length=len(text), max=limit))
        return None
    return text


async def _done(s: S, text: str) -> object:
    await (s.show if s.cb is not None else s.say)(Message(text))
    return END


async def comment_typed(s: S) -> object:
    text = await _typed(s, MAX_COMMENT)
    if text is None:
        return None
    return await _record(s, text)


async def comment_skipped(s: S) -> object:
    if s.form.verdict == "fix":  # a correction needs words
        return await s.go(COMMENT, note=t(s, "empty"))
    return await _record(s, "")


async def _record(s: S, comment: str) -> object:
    outcome = await checks.record(s.d, s.cadre, s.form.target(), comment, s.draft.id, s.w.lang)
    return await _done(s, outcome.text)


async def answer_typed(s: S) -> object:
    text = await _typed(s, MAX_ANSWER)
    if text is None:
        return None
    s.form.text = text
    return await s.go(ANSWER)


async def answer_photo(s: S) -> object:
    photos = s.message.photo
    if s.draft.step != ANSWER or not photos:
        return await s.go(s.draft.step, note=t(s, "text_please"))
    if len(s.form.photos) >= MAX_PHOTOS:
        return await s.go(ANSWER, note=t(s, "photos_full", max=MAX_PHOTOS))
    s.form.photos = [*s.form.photos, photos[-1].file_id]
    return await s.go(ANSWER)


async def answer_sent(s: S) -> object:
    f = s.form
    if not f.text and not f.photos:
        return await s.go(ANSWER, note=t(s, "empty"))
    outcome = await checks.answer(
        s.d, s.cadre, f.correction_id, f.text, f.photos, s.draft.id, s.w.lang
    )
    return await _done(s, outcome.text)


async def reason_typed(s: S) -> object:
    text = await _typed(s, MAX_COMMENT)
    if text is None:
        return None
    outcome = await checks.review(
        s.d, s.cadre, s.form.correction_id, False, text, s.draft.id, s.w.lang
    )
    return await _done(s, outcome.text)


async def day_pressed(s: S) -> object:
    assert s.cb is not None
    if s.cb.args[1] not in ("0", "1"):
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    s.form.day = (s.today - timedelta(days=int(s.cb.args[1]))).isoformat()
    return await s.go(I_PLACE)


async def day_typed(s: S) -> object:
    try:
        day = parse_day(clean_text(s.message.text or ""), s.today)
    except PeriodError:
        return await s.go(I_DAY, note=t(s, "bad_day"))
    if day > s.today:
        return await s.go(I_DAY, note=t(s, "bad_day"))
    s.form.day = day.isoformat()
    return await s.go(I_PLACE)


async def place_typed(s: S) -> object:
    text = await _typed(s, 100)
    if text is None:
        return None
    s.form.place = text
    return await s.go(I_FOUND)


async def findings_typed(s: S) -> object:
    text = await _typed(s, MAX_ANSWER)
    if text is None:
        return None
    s.form.findings = text
    return await s.go(I_ITEMS)


async def items_typed(s: S) -> object:
    text = await _typed(s, MAX_ANSWER)
    if text is None:
        return None
    items = [line.strip(" -·•") for line in text.splitlines() if line.strip(" -·•")]
    if len(items) > MAX_ITEMS:
        return await s.go(I_ITEMS, note=t(s, "too_many_items", max=MAX_ITEMS))
    return await _inspection(s, items)


async def no_items(s: S) -> object:
    return await _inspection(s, [])


async def _inspection(s: S, items: list[str]) -> object:
    f = s.form
    form = InspectionForm(f.group_id, date.fromisoformat(f.day), f.place, f.findings, items)
    outcome = await checks.record_inspection(s.d, s.cadre, form, s.draft.id, s.w.lang)
    return await _done(s, outcome.text)


FLOW: Flow[CheckForm] = Flow(
    kind=KIND,
    ns=CHECK,
    texts="checks.flow",
    load=CheckForm.load,
    steps=[
        Step(
            COMMENT, ask, buttons={"skip": comment_skipped}, text=comment_typed, hint="text_please"
        ),
        Step(
            ANSWER,
            ask,
            buttons={"ok": answer_sent},
            text=answer_typed,
            photo=answer_photo,
            hint="answer_hint",
        ),
        Step(REASON, ask, text=reason_typed, hint="text_please"),
        Step(I_DAY, ask, buttons={"day": day_pressed}, text=day_typed, hint="text_please"),
        Step(I_PLACE, ask, text=place_typed, hint="text_please"),
        Step(I_FOUND, ask, text=findings_typed, hint="text_please"),
        Step(I_ITEMS, ask, buttons={"none": no_items}, text=items_typed, hint="text_please"),
    ],  # fmt: skip
    entries=[
        CallbackQueryHandler(entry(on_check), pattern=CHECK.pattern("log", "vis")),
        CallbackQueryHandler(entry(on_correction), pattern=CORRECTION.pattern("ans", "back")),
        CommandHandler(
            "inspect",
            entry(on_inspect),
            filters=filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
        ),
        CallbackQueryHandler(entry(on_inspect_group), pattern=INSPECTION.pattern()),
    ],
    cancel="x",
    per_chat=False,
    number=checks.number,
)


# --- outside the dialog ------------------------------------------------------------------------


async def on_close(update: Update, context: Context) -> None:
    """关闭 an answered correction (its checker, or the office)."""
    p = await pressed(update, context, CORRECTION, lambda cb: cb.int_arg(0))
    if p is None:
        return
    w, correction_id, query = p.w, p.value, p.query
    outcome = await checks.review(w.deps, p.cadre, correction_id, True, "", None, w.lang)
    await query.answer(outcome.text, show_alert=not outcome.ok)
    if outcome.ok and query.message is not None:
        await screen.edit_pressed(context.bot, query, outcome.text)


async def on_show(update: Update, context: Context) -> None:
    """A correction's card, from /checks."""
    p = await pressed(update, context, CORRECTION, lambda cb: cb.int_arg(0))
    if p is None:
        return
    w, correction_id, query = p.w, p.value, p.query
    shown = await checks.show(w.deps, p.cadre, correction_id, w.lang)
    if shown is None:
        await query.answer(w.t("checks.why.not_found"), show_alert=True)
        return
    await query.answer()
    await reply(update, shown.text, screen.markup_of(shown))


async def on_show_visit(update: Update, context: Context) -> None:
    """A visit picked under /log (chk:sv), or /check N: shown to whoever may check it."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    query = update.callback_query
    visit_id: int | None = None
    try:
        if query is not None:
            visit_id = CHECK.parse(query.data).int_arg(0)
        elif context.args:
            visit_id = int(context.args[0].lstrip("#"))
    except (CallbackError, ValueError):
        if query is not None:
            await query.answer(w.t("common.stale_button"), show_alert=True)
            return
    shown = await checks.visit_to_check(w.deps, w.cadre, visit_id, w.lang)
    if isinstance(shown, str):
        await _alert(update, shown)
        return
    if query is not None:
        await query.answer()
    await reply(update, shown.text, screen.markup_of(shown))


async def checks_command(update: Update, context: Context) -> None:
    """/checks: open corrections by team (a leader's scope), or my own."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    message = await checks.open_list(w.deps, w.cadre, w.lang)
    await reply(update, message.text, screen.markup_of(message))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Ahead of the dialog: the buttons it does not own (a visit to check, close, show);
    then the dialog, its stale buttons, and the commands."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CallbackQueryHandler(on_show_visit, pattern=CHECK.pattern("sv")),
        CallbackQueryHandler(on_close, pattern=CORRECTION.pattern("close")),
        CallbackQueryHandler(on_show, pattern=CORRECTION.pattern("show")),
        FLOW.conversation(),
        FLOW.stale_handler(),
        CommandHandler("checks", checks_command, filters=private),
        CommandHandler("check", on_show_visit, filters=private),
    ]
