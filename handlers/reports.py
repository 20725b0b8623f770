"""The office's reports in the chat: /summary, /coverage, /overdue, /log, /cases,
/export, /chart, and the main-menu button for this month's summary.

Every report is read in a worker thread on its own read-only connection
(``services.reports``). Text reports are awaited (a year's summary takes a few hundred
milliseconds); the workbook and the chart take seconds, so the handler only says
"preparing" and a background task sends the file when it is ready: the next update,
a cadre logging a visit, does not wait for it.

Who sees what is judged by ``services.reports.entitled`` from the sender's role (read
from the database on every command and button) and the chat it is asked in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign import callbacks
from campaign.message import Message
from campaign.periods import (
    EXAMPLES,
    Period,
    PeriodError,
    from_token,
    month_of,
    parse_period,
    to_token,
)
from campaign.phones import mask_phone
from campaign.reporting import Scope, split_text
from campaign.text import ECHO_LIMIT, shorten
from handlers import screen
from handlers import urge as urge_ui
from handlers.common import Context, Who, deps, is_private, reply, who
from reports.chart import NoCJKFont
from services import checks as checks_service
from services import evidence
from services import reports as service

log = logging.getLogger(__name__)

MAX_LOG_CHOICES = 8
# What a period and a team take at most ("2026-11-01..2026-11-30 城关镇工作队"): longer
# input is not tried word by word (that is quadratic), only answered with its echo cut.
MAX_ARG_WORDS = 8
MAX_ARG_CHARS = 120


# --- who may ask, and for what -------------------------------------------------------------


async def _scope_here(update: Update, context: Context, w: Who, report: str) -> Scope | None:
    """The scope ``w`` gets for ``report`` in this chat, or None."""
    if w.cadre is None:
        return None
    chat_id = (
        None if is_private(update) or update.effective_chat is None else update.effective_chat.id
    )
    return (await service.entitled(deps(context), w.cadre, report, chat_id)).scope


async def _allowed(update: Update, context: Context, report: str) -> tuple[Who, Scope] | None:
    """The sender and the scope they get here, or None after answering (or, in group
    chats where they are not entitled, staying silent)."""
    w = await who(update, context)
    if w is None:
        return None
    private = is_private(update)
    if w.cadre is None:
        if private:
            await reply(update, w.t("start.not_joined"))
        return None
    chat = update.effective_chat
    chat_id = None if private or chat is None else chat.id
    here = await service.entitled(deps(context), w.cadre, report, chat_id)
    if here.scope is None:
        if private:
            await reply(update, w.t("reports.not_allowed"))
        elif here.private_only:
            await reply(update, w.t("reports.private_only"))
        return None
    return w, here.scope


def _ask(context: Context, w: Who, scope: Scope, period: Period) -> service.Ask:
    d = deps(context)
    return service.Ask(
        db_path=d.db.path,
        settings=d.settings,
        catalog=d.catalog,
        lang=w.lang,
        scope=scope,
        period=period,
        now=d.now(),
    )


def _today(context: Context) -> Any:
    return deps(context).local_now().date()


def _split_args(args: list[str], today: Any) -> tuple[Period | None, str, str]:
    """(period or None for the default, the other words, the words that failed)."""
    text = " ".join(args).strip()
    if not text:
        return None, "", ""
    if len(args) > MAX_ARG_WORDS or len(text) > MAX_ARG_CHARS:
        return None, text, text
    try:
        return parse_period(text, today), "", ""
    except PeriodError:
        pass
    for k in range(1, len(args)):
        head, tail = " ".join(args[:k]), " ".join(args[k:])
        for period_text, other in ((head, tail), (tail, head)):
            try:
                return parse_period(period_text, today), other, ""
            except PeriodError:
                continue
    return None, text, text


async def _period_and_scope(
    update: Update, context: Context, w: Who, scope: Scope, args: list[str]
) -> tuple[Period, Scope] | None:
    """Read ``[period] [team]`` in either order; answer and return None if unreadable."""
    today = _today(context)
    period, other, failed = _split_args(args, today)
    if other:
        d = deps(context)
        matches, all_teams = await asyncio.to_thread(service.find_teams, d.db.path, other)
        if len(matches) != 1:
            if failed and not matches:
                echo = shorten(failed, ECHO_LIMIT)
                await reply(update, w.t("reports.bad_period", text=echo, examples=EXAMPLES))
            else:
                names = w.t("reports.list_sep").join(u.name for u in (matches or all_teams))
                echo = shorten(other, ECHO_LIMIT)
                await reply(update, w.t("reports.unknown_team", text=echo, teams=names))
            return None
        narrowed = scope.narrow(matches[0].id)
        if narrowed is None:
            await reply(update, w.t("reports.other_team"))
            return None
        scope = narrowed
    return (period or month_of(today)), scope


async def _send_text(update: Update, text: str) -> None:
    for chunk in split_text(text):
        await reply(update, chunk)


# --- text reports ----------------------------------------------------------------------------


async def _text_report(update: Update, context: Context, report: str) -> None:
    allowed = await _allowed(update, context, report)
    if allowed is None:
        return
    w, scope = allowed
    parsed = await _period_and_scope(update, context, w, scope, list(context.args or []))
    if parsed is None:
        return
    period, scope = parsed
    ask = _ask(context, w, scope, period)
    run = {
        "summary": service.summary_report,
        "coverage": service.coverage_report,
        "overdue": service.overdue_report,
        "cases": service.cases_report,
    }[report]
    await _send_text(update, await asyncio.to_thread(run, ask))


async def summary(update: Update, context: Context) -> None:
    """/summary [period] [team]: visits, days, places, kinds, problems, against quotas."""
    await _text_report(update, context, "summary")


async def coverage(update: Update, context: Context) -> None:
    """/coverage [period]: places nobody visited and cadres with no visit, by team."""
    await _text_report(update, context, "coverage")


async def overdue(update: Update, context: Context) -> None:
    """/overdue: problems past their deadline, by level and owner, oldest first; then
    the 督办 buttons for whoever may urge them."""
    await _text_report(update, context, "overdue")
    w = await who(update, context)
    if w is not None:
        await urge_ui.offer(update, w, overdue_only=True)


async def cases(update: Update, context: Context) -> None:
    """/cases [period]: visits marked as possible model cases."""
    await _text_report(update, context, "cases")


async def menu_summary(update: Update, context: Context) -> None:
    """The main-menu button: this month's summary for the presser's own scope."""
    query = update.callback_query
    if query is None:
        return
    w = await who(update, context)
    scope = await _scope_here(update, context, w, "summary") if w else None
    if w is None or scope is None:
        await query.answer(w.t("reports.not_allowed") if w else None, show_alert=True)
        return
    await query.answer()
    ask = _ask(context, w, scope, month_of(_today(context)))
    await _send_text(update, await asyncio.to_thread(service.summary_report, ask))


# --- one cadre's log ---------------------------------------------------------------------------


def _split_log_args(args: list[str], today: Any) -> tuple[str, Period | None]:
    for k in range(1, len(args)):
        try:
            return " ".join(args[:k]), parse_period(" ".join(args[k:]), today)
        except PeriodError:
            continue
    return " ".join(args), None


async def log_command(update: Update, context: Context) -> None:
    """/log CADRE [period]: a cadre's visits and problems, to check the work log."""
    allowed = await _allowed(update, context, "log")
    if allowed is None:
        return
    w, scope = allowed
    args = list(context.args or [])
    if not args:
        await reply(update, w.t("reports.log.usage"))
        return
    today = _today(context)
    query_text, period = _split_log_args(args[:MAX_ARG_WORDS], today)
    query_text = shorten(query_text, ECHO_LIMIT)
    ask = _ask(context, w, scope, period or month_of(today))
    found = await asyncio.to_thread(service.find_cadres, ask, query_text)
    if not found:
        await reply(update, w.t("reports.log.not_found", query=query_text))
        return
    if len(found) == 1:
        await _send_log(update, ask, found[0].id, w)
        return
    buttons = [
        [
            screen.button(
                w.t(
                    "reports.log.choice",
                    name=c.name,
                    unit=c.group_name or c.team_name or w.t(f"roles.{c.role.value}"),
                    phone=mask_phone(c.phone),
                ),
                callbacks.REPORT.build("log", c.id, to_token(ask.period)),
            )
        ]
        for c in found[:MAX_LOG_CHOICES]
    ]
    text = w.t("reports.log.choose")
    if len(found) > MAX_LOG_CHOICES:
        text += "\n" + w.t("reports.more", n=len(found) - MAX_LOG_CHOICES)
    await reply(update, text, screen.inline(buttons))


async def _send_log(update: Update, ask: service.Ask, cadre_id: int, w: Who) -> bool:
    text = await asyncio.to_thread(service.log_report, ask, cadre_id)
    if text is None:
        return False
    await _send_text(update, text)
    await _under_log(update, ask, cadre_id, w)
    return True


async def _under_log(update: Update, ask: service.Ask, cadre_id: int, w: Who) -> None:
    """One message under a log: for a reader who may check it, 已检查 / 需整改 and its
    visits' cards; for anyone who may read it, 📎 buttons that open the visits' photos,
    voice and location."""
    parts = []
    if w.cadre is not None and is_private(update):
        period = ask.period
        token = to_token(period)
        offer = await checks_service.log_offer(
            w.deps, w.cadre, cadre_id, period.start, period.end, token, w.lang
        )
        parts.append(offer)
    parts.append(await evidence.log_buttons(w.deps, cadre_id, ask.period, w.lang))
    shown = [m for m in parts if m is not None]
    if not shown:
        return
    under = Message(
        "\n\n".join(m.text for m in shown), tuple(row for m in shown for row in m.buttons)
    )
    await reply(update, under.text, screen.markup_of(under))


async def log_pressed(update: Update, context: Context) -> None:
    """A cadre picked from an ambiguous /log: re-authorised from the database."""
    query = update.callback_query
    if query is None:
        return
    w = await who(update, context)
    try:
        data = callbacks.REPORT.parse(query.data)
        cadre_id = data.int_arg(0)
        period = from_token(data.args[1])
    except (callbacks.CallbackError, PeriodError):
        await query.answer(w.t("common.stale_button") if w else None, show_alert=True)
        return
    scope = await _scope_here(update, context, w, "log") if w else None
    if w is None or scope is None:
        await query.answer(w.t("reports.not_allowed") if w else None, show_alert=True)
        return
    ask = _ask(context, w, scope, period)
    text = await asyncio.to_thread(service.log_report, ask, cadre_id)
    if text is None:
        await query.answer(w.t("reports.not_allowed"), show_alert=True)
        return
    await query.answer()
    chat = update.effective_chat
    for chunk in split_text(text):
        if chat is not None:
            await context.bot.send_message(chat.id, chunk)
    await _under_log(update, ask, cadre_id, w)


# --- the workbook and the chart, off the update path ------------------------------------------


def _jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> dict[int, asyncio.Task[None]]:
    return deps(app).report_jobs


async def wait_for_jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Until every export and chart under way has been sent (tests, shutdown)."""
    while _jobs(app):
        await asyncio.gather(*list(_jobs(app).values()), return_exceptions=True)


async def _heavy(update: Update, context: Context, report: str) -> None:
    allowed = await _allowed(update, context, report)
    if allowed is None:
        return
    w, scope = allowed
    parsed = await _period_and_scope(update, context, w, scope, list(context.args or []))
    if parsed is None:
        return
    period, scope = parsed
    chat = update.effective_chat
    if chat is None:
        return
    jobs = _jobs(context.application)
    if w.user_id in jobs:
        await reply(update, w.t("reports.export.busy"))
        return
    ask = _ask(context, w, scope, period)
    where = await asyncio.to_thread(service.scope_label, ask)
    key = "reports.export.preparing" if report == "export" else "reports.chart.preparing"
    await reply(update, w.t(key, scope=where, period=ask.period_text()))
    job = _deliver(context.application, chat.id, ask, report, where)
    if context.application.running:  # awaited by the application when it stops
        task = context.application.create_task(job, name=f"report-{report}")
    else:
        task = asyncio.get_running_loop().create_task(job, name=f"report-{report}")
    jobs[w.user_id] = task
    user_id = w.user_id

    def finished(_: asyncio.Task[None]) -> None:
        jobs.pop(user_id, None)

    task.add_done_callback(finished)


async def _deliver(
    app: Application[Any, Any, Any, Any, Any, Any],
    chat_id: int,
    ask: service.Ask,
    report: str,
    where: str,
) -> None:
    """Build the file in a worker thread (one heavy report at a time), then send it."""
    lock = deps(app).heavy_reports
    t = ask.t
    try:
        async with lock:
            if report == "export":
                path = await asyncio.to_thread(_export_file, ask)
                try:
                    with path.open("rb") as f:
                        await app.bot.send_document(
                            chat_id,
                            document=f,
                            filename=service.file_stem(ask, "report") + ".xlsx",
                            caption=t(
                                "reports.export.caption", scope=where, period=ask.period_text()
                            ),
                        )
                finally:
                    path.unlink(missing_ok=True)
            else:
                png = await asyncio.to_thread(service.chart_png, ask)
                await app.bot.send_photo(
                    chat_id,
                    photo=png,
                    caption=t("reports.chart.caption", scope=where, period=ask.period_text()),
                )
    except NoCJKFont:
        await _tell(app, chat_id, t("reports.chart.no_font"))
    except Exception:
        log.exception("the %s report for chat %s failed", report, chat_id)
        await _tell(app, chat_id, t("reports.error"))


def _export_file(ask: service.Ask) -> Path:
    fd, name = tempfile.mkstemp(prefix="fieldbot-", suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        return service.export_to_file(ask, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def _tell(app: Application[Any, Any, Any, Any, Any, Any], chat_id: int, text: str) -> None:
    try:
        await app.bot.send_message(chat_id, text)
    except Exception:  # the failure is logged above; nothing more to do
        log.warning("could not tell chat %s that a report failed", chat_id, exc_info=True)


async def export(update: Update, context: Context) -> None:
    """/export [period]: the Excel workbook, sent when ready."""
    await _heavy(update, context, "export")


async def chart(update: Update, context: Context) -> None:
    """/chart [period]: the PNG chart, sent when ready."""
    await _heavy(update, context, "chart")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    new = filters.UpdateType.MESSAGE  # an edited command is not asked again
    return [
        CommandHandler("summary", summary, filters=new),
        CommandHandler("coverage", coverage, filters=new),
        CommandHandler("overdue", overdue, filters=new),
        CommandHandler("log", log_command, filters=new),
        CommandHandler("cases", cases, filters=new),
        CommandHandler("export", export, filters=new),
        CommandHandler("chart", chart, filters=new),
        CallbackQueryHandler(menu_summary, pattern=callbacks.MENU.pattern("summary")),
        CallbackQueryHandler(log_pressed, pattern=callbacks.REPORT.pattern()),
    ]
