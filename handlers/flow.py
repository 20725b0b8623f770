"""The step engine: one way to hold a conversation, for every flow (a visit, raising a
problem, a card's reason, and the plans and checks to come).

A flow is a list of steps. A step says what it asks (``prompt``: the session → a plain
``campaign.message.Message``, text and buttons), how it reads the answer (``buttons``:
action → function; ``text``, ``photo``, ``voice``, ``location``) and where it goes next
(``next``, or the function returns the step it reaches with ``await s.go(step)``). The
engine keeps its promises for every flow alike:

- the draft (``services/drafts``) and its step are saved BEFORE the reply, so a crash
  or restart loses nothing; ``bot/persistence.py`` rebuilds the ConversationHandler's
  state from the open drafts of the flow's ``kind``, so a restart resumes;
- the message whose button was pressed is edited in place (a new one is sent when it
  cannot be);
- every button carries the draft id as its first argument: a button of a closed draft
  says so (or, when that draft became a report, gives the receipt again); a button of
  this draft from a step it has left answers the press and redraws the current step;
- ❌ (the flow's ``cancel`` action) and /cancel drop the draft; any other command
  mid-flow asks whether to drop the draft for it (step ``ASK_DROP``; ``run_after_drop``
  names commands to run at once after the drop); an edited message changes nothing;
  input a step does not take is answered with the step's ``hint`` and the step again.

How to declare a flow (a sketch; handlers/visit_flow.py is the full one)::

    # campaign/callbacks.py: the flow's buttons; the draft id is every action's first
    # argument, and the engine's own actions x (cancel), keep and drop are there too.
    XYZ = _ns("xyz", cat=2, done=1, x=1, keep=1, drop=1)

    @dataclass
    class XyzForm(EngineForm):      # what the draft holds: JSON-able fields with defaults;
        category: str | None = None # the engine's own fields, dump and load come with
                                    # EngineForm (handlers/flow_form.py)

    async def ask_category(s: Session[XyzForm]) -> Message:
        picks = [s.button(s.w.t(f"categories.{c}"), "cat", c) for c in CATEGORIES]
        return Message(s.t("ask_category"), grid(picks) + ((s.cancel_button(),),))

    async def category_chosen(s: Session[XyzForm]) -> object:
        assert s.cb is not None     # the press, parsed: args[0] is the draft id
        s.form.category = s.cb.args[1]
        return await s.forward()    # saves, then shows the step's ``next``

    FLOW: Flow[XyzForm] = Flow(
        kind="xyz",                 # drafts.kind and the conversation's name
        ns=callbacks.XYZ,
        texts="xyz.raise",          # catalogue section with the engine's keys (below)
        load=XyzForm.load,
        steps=[
            Step("category", ask_category, buttons={"cat": category_chosen},
                 next="summary", hint="use_buttons"),
            Step("summary", ask_summary, buttons={"done": submit}),
        ],
        entries=[CommandHandler("xyz", entry(xyz_entry), filters=filters.ChatType.PRIVATE)],
    )

    def handlers() -> list[BaseHandler[Any, Any, Any]]:
        return [FLOW.conversation(), FLOW.stale_handler()]

An entry handler (a PTB callback, wrapped in ``entry``) opens the draft and shows the
first step::

    draft = await drafts.start(db, FLOW.kind, cadre.id, chat_id, w.user_id, "category",
                               XyzForm().dump(), d.now())     # services/drafts.py
    return await FLOW.session(update, context, w, draft).go("category")

A step function gets the ``Session``: the sender ``s.w`` (``s.cadre``, ``s.d`` the
runtime), ``s.draft``, its form ``s.form``, the parsed press ``s.cb``. It returns the
conversation state: ``await s.go(step, note=...)`` (save, then show), ``END`` after
closing the draft (``s.drop()``, or a service that closes it with the report it
writes; then ``s.finish(title, outcome)``), or ``None`` to stay. ``raise Stop(state)``
leaves at once. ``s.answer(text, alert=True)`` answers the press; ``s.show`` edits the
pressed message, ``s.say`` sends a new one. ``Step.enter`` runs when the draft comes to
a step from another (it may set the form, and may return a message sent first, e.g. a
reply keyboard); ``Flow(route=...)`` decides ``forward`` when ``next`` is not enough
(back to the summary while a field is changed); ``Flow(media=...)`` takes a photo,
location or voice at a step with no handler for it; ``Flow(card=...)`` is the text a
closed draft's card keeps; ``Flow(per_chat=False)`` holds a dialog entered from a
button in any chat in the presser's private chat (drafts with chat_id = user_id);
``Flow(number=...)`` names the report a submitted draft became (``already_submitted``).

``Step``, ``Session`` and ``Stop`` live in handlers/flow_session.py; import them from here.

The catalogue section ``texts`` holds the engine's keys: cancel (the ❌ label),
cancelled, cancelled_card, draft_closed, draft_closed_long, already_submitted ({id}),
old_step_button, unexpected, ask_drop ({command}), ask_drop_keep, ask_drop_drop,
ask_drop_use_buttons, dropped, dropped_resend ({command}).
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from campaign.callbacks import Callback, CallbackError, Namespace
from campaign.message import Ask, Message
from handlers.common import Context, Who, deps, reply, require_cadre, who
from handlers.flow_route import FlowConversation
from handlers.flow_session import (
    ASK_DROP,
    END,
    Action,
    F,
    FlowForm,
    Handler,
    Prompt,
    Session,
    Step,
    Stop,
)
from services import drafts, people
from services.drafts import Draft

__all__ = [
    "ASK_DROP",
    "END",
    "Action",
    "Flow",
    "FlowForm",
    "Prompt",
    "Session",
    "Step",
    "Stop",
    "conversation_key",
    "entry",
]

log = logging.getLogger(__name__)

AfterDrop = Callable[[Update, Context, Who], Awaitable[None]]

# The kinds of the flows keyed by the person alone (``Flow(per_chat=False)``).
USER_KEYED: set[str] = set()


def conversation_key(kind: str, chat_id: int, user_id: int) -> tuple[int, ...]:
    """The ConversationHandler key of an open draft, for the persistence to rebuild."""
    return (user_id,) if kind in USER_KEYED else (chat_id, user_id)


class Flow(Generic[F]):
    """A conversation declared as steps; see the module docstring."""

    def __init__(
        self,
        *,
        kind: str,
        ns: Namespace,
        texts: str,
        load: Callable[[dict[str, Any]], F],
        steps: Sequence[Step[F]],
        entries: Sequence[BaseHandler[Any, Any, Any]],
        cancel: str = "x",
        media: Action[F] | None = None,
        route: Callable[[Session[F], str], str] | None = None,
        card: Callable[[Session[F], str], str] | None = None,
        run_after_drop: Mapping[str, AfterDrop] | None = None,
        per_chat: bool = True,
        number: Callable[[int], str] = str,
    ) -> None:
        self.kind = kind  # drafts.kind and the ConversationHandler's name
        # False: a dialog entered from a button in any chat and held in the presser's
        # private chat (its drafts have chat_id = user_id), keyed by the person alone.
        self.per_chat = per_chat
        if not per_chat:
            USER_KEYED.add(kind)
        self.ns = ns
        self.texts = texts
        self.load = load
        self.entries = list(entries)
        self.cancel = cancel  # the ❌ action every step's keyboard may carry
        self.media = media  # a photo, location or voice where the step takes none
        self._route = route
        self._card = card
        self.run_after_drop = dict(run_after_drop or {})
        self.number = number  # how a report the draft became is named (#12, P-0012)
        ask_drop: Step[F] = Step(
            ASK_DROP,
            _ask_drop_prompt,
            buttons={"keep": _keep_button, "drop": _drop_button},
            hint="ask_drop_use_buttons",
            redraw=False,
            question=True,
        )
        self.steps: dict[str, Step[F]] = {s.name: s for s in [*steps, ask_drop]}

    def step(self, name: str) -> Step[F]:
        return self.steps[name]

    def after(self, s: Session[F], step: str) -> str:
        if self._route is not None:
            return self._route(s, step)
        nxt = self.steps[step].next
        if nxt is None:
            raise ValueError(f"step {step!r} of {self.kind} says no next step")
        return nxt

    def card(self, s: Session[F], title: str) -> str:
        return self._card(s, title) if self._card is not None else title

    def session(
        self,
        update: Update,
        context: Context,
        w: Who,
        draft: Draft,
        form: F | None = None,
        cb: Callback | None = None,
    ) -> Session[F]:
        return Session(
            self, update, context, w, draft, form if form is not None else self.load(draft.data), cb
        )

    async def open_in_private(
        self,
        update: Update,
        context: Context,
        w: Who,
        step: str,
        form: F,
        *,
        texts: str,
    ) -> object:
        """Open this dialog from a button pressed in any chat (a card in a group, a list)
        or a command: a new draft held in the sender's private chat, its first ``step``
        asked there. A press is answered once: refused (``<texts>.busy``) when they
        already have one open; ``<texts>.open_private_first`` when the bot may not write
        to them yet (they never started a private chat with it), the draft dropped
        again; ``<texts>.see_private`` when the press came from another chat."""
        query = update.callback_query
        assert w.cadre is not None
        d = w.deps

        async def refuse(key: str) -> object:
            if query is not None:
                await query.answer(w.t(key), show_alert=True)
            else:
                await reply(update, w.t(key))
            return END

        if await drafts.other_open(d.db, w.user_id, w.user_id, self.kind) is not None:
            return await refuse(f"{texts}.busy")
        draft = await drafts.start(
            d.db, self.kind, w.cadre.id, w.user_id, w.user_id, step, form.dump(), d.now()
        )
        s = self.session(update, context, w, draft, form)
        s.answered = True  # answered below, once it is known how the ask went
        try:
            state = await s.go(step)
        except (Forbidden, BadRequest) as exc:
            log.info("could not open a private %s dialog: %s", self.kind, exc)
            await drafts.cancel(d.db, draft.id, d.now())
            return await refuse(f"{texts}.open_private_first")
        except Stop as stop:
            return stop.state
        if query is not None:
            chat = update.effective_chat
            here = chat is not None and chat.id == w.user_id
            await query.answer(None if here else w.t(f"{texts}.see_private"))
        return state

    # --- one update --------------------------------------------------------------------

    async def load_session(self, update: Update, context: Context) -> Session[F]:
        """The sender and their open draft; a button must belong to that draft."""
        # The sender and the draft as this process remembers them, checked by one read
        # (the people generation, the draft's version): read afresh when either changed.
        # The generation is taken before the sender: a remembered one is served without
        # a wait, so it is of that generation even if another update refreshes the
        # memory while this one waits for its read.
        served = people.sender_generation(deps(context))
        w = await who(update, context, check=False)
        if w is None or update.effective_chat is None:
            raise Stop(None)
        d = w.deps
        query = update.callback_query
        chat_id = update.effective_chat.id if self.per_chat else w.user_id
        draft, generation = await drafts.current(d.db, self.kind, chat_id, w.user_id)
        if generation < 0 or generation != served:
            w = await who(update, context)  # reads the generation and, if moved, afresh
            if w is None:
                raise Stop(None)
        if w.cadre is None:  # removed from the roster mid-flow
            if draft is not None:
                await drafts.cancel(d.db, draft.id, d.now())
            await require_cadre(update, context)
            raise Stop(END)
        cb = None
        if query is not None:
            try:
                cb = self.ns.parse(query.data)
                draft_id = cb.int_arg(0)
            except CallbackError:
                await query.answer(w.t("common.stale_button"), show_alert=True)
                raise Stop(None) from None
            if draft is None or draft.id != draft_id:
                await self.tell_closed(update, w, draft_id)
                raise Stop(None if draft is not None else END)
        if draft is None:
            await update.effective_chat.send_message(w.t(f"{self.texts}.draft_closed_long"))
            raise Stop(END)
        return self.session(update, context, w, draft, cb=cb)

    def handler(self, fn: Action[F]) -> Handler:
        """A step function as a PTB callback: load the session, run it, return the state."""

        @functools.wraps(fn)
        async def handle(update: Update, context: Context) -> object:
            try:
                return await fn(await self.load_session(update, context))
            except Stop as stop:
                return stop.state

        return handle

    def _press(self, step: Step[F]) -> Handler:
        async def press(s: Session[F]) -> object:
            assert s.cb is not None
            return await step.buttons[s.cb.action](s)

        press.__name__ = f"{step.name}_button"
        return self.handler(press)

    async def closed_notice(self, w: Who, draft_id: int) -> str:
        """What a button of a draft no longer open says when pressed."""
        old = await drafts.get(w.deps.db, draft_id)
        if old is not None and old.user_id == w.user_id and old.status == "submitted":
            return w.t(f"{self.texts}.already_submitted", id=self.number(old.result_id or 0))
        return w.t(f"{self.texts}.draft_closed")

    async def tell_closed(self, update: Update, w: Who, draft_id: int) -> None:
        """Answer a press on a closed draft's button. When that draft became a report,
        the receipt is said in the chat too: after a crash the press comes again, its
        alert may no longer be shown (Telegram takes one answer per press), and the
        sender must still learn that the report is in."""
        old = await drafts.get(w.deps.db, draft_id)
        submitted = old is not None and old.user_id == w.user_id and old.status == "submitted"
        if submitted:
            assert old is not None
            text = w.t(f"{self.texts}.already_submitted", id=self.number(old.result_id or 0))
        else:
            text = w.t(f"{self.texts}.draft_closed")
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        if submitted and update.effective_chat is not None:
            await update.effective_chat.send_message(text)

    # --- wiring ------------------------------------------------------------------------

    def conversation(self) -> FlowConversation:
        private = filters.ChatType.PRIVATE
        new = filters.UpdateType.MESSAGE & private
        text = new & filters.TEXT & ~filters.COMMAND
        states: dict[object, list[BaseHandler[Any, Any, Any]]] = {}
        for step in self.steps.values():
            here: list[BaseHandler[Any, Any, Any]] = []
            if step.buttons:
                pattern = self.ns.pattern(*step.buttons)
                here.append(CallbackQueryHandler(self._press(step), pattern=pattern))
            if step.text is not None:
                here.append(MessageHandler(text, self.handler(step.text)))
            if step.voice is not None:
                here.append(MessageHandler(new & filters.VOICE, self.handler(step.voice)))
            if step.photo is not None:
                here.append(MessageHandler(new & filters.PHOTO, self.handler(step.photo)))
            if step.location is not None:
                here.append(MessageHandler(new & filters.LOCATION, self.handler(step.location)))
            states[step.name] = here
        fallbacks: list[BaseHandler[Any, Any, Any]] = [
            CommandHandler("cancel", self.handler(_cancel_command), filters=private),
            MessageHandler(new & filters.COMMAND, self.handler(_other_command)),
            CallbackQueryHandler(
                self.handler(_cancel_button), pattern=self.ns.pattern(self.cancel)
            ),
            CallbackQueryHandler(self.handler(_old_button), pattern=self.ns.pattern()),
        ]
        if self.media is not None:
            media = new & (filters.PHOTO | filters.LOCATION | filters.VOICE)
            fallbacks.append(MessageHandler(media, self.handler(self.media)))
        fallbacks += [
            MessageHandler(new, self.handler(_unexpected)),
            MessageHandler(filters.UpdateType.EDITED & private, _ignore),
        ]
        with warnings.catch_warnings():
            # Buttons are tracked per chat on purpose: the draft id in their data, not the
            # message they sit on, says which draft they belong to.
            warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
            return FlowConversation(
                prefix=self.ns.prefix,
                entry_points=self.entries,
                states=states,
                fallbacks=fallbacks,
                name=self.kind,
                persistent=True,
                per_chat=self.per_chat,
                per_user=True,
                per_message=False,
                allow_reentry=True,
            )

    def stale_handler(self) -> CallbackQueryHandler[Any, Any]:
        """The flow's buttons pressed when no conversation of it is going on: register
        after the conversation."""

        async def stale(update: Update, context: Context) -> None:
            query = update.callback_query
            w = await who(update, context)
            if query is None or w is None:
                return
            try:
                draft_id = self.ns.parse(query.data).int_arg(0)
            except CallbackError:
                await query.answer(w.t("common.stale_button"), show_alert=True)
                return
            await self.tell_closed(update, w, draft_id)

        return CallbackQueryHandler(stale, pattern=self.ns.pattern())


def entry(fn: Handler) -> Handler:
    """An entry point's callback (it opens or finds the draft itself): a ``Stop`` raised
    inside, e.g. by ``go`` on a draft closed meanwhile, returns its state."""

    @functools.wraps(fn)
    async def enter(update: Update, context: Context) -> object:
        try:
            return await fn(update, context)
        except Stop as stop:
            return stop.state

    return enter


# --- what every flow does alike --------------------------------------------------------


async def _ask_drop_prompt(s: Session[Any]) -> Message:
    keep = s.button(s.t("ask_drop_keep"), "keep")
    drop = s.button(s.t("ask_drop_drop"), "drop")
    return Message(s.t("ask_drop", command=s.form.command or ""), ((keep, drop),))


async def _other_command(s: Session[Any]) -> object:
    """Another command mid-flow: ask whether to drop the draft for it."""
    text = s.message.text or ""
    s.form.command = text.split()[0].split("@")[0][:40] if text else "/"
    if not s.flow.step(s.draft.step).question:
        s.form.back = s.draft.step
    return await s.go(ASK_DROP)


async def _keep_button(s: Session[Any]) -> object:
    """Keep the draft: back to its step."""
    back, s.form.back, s.form.command = s.form.back, None, None
    return await s.go(back or next(iter(s.flow.steps)))


async def _drop_button(s: Session[Any]) -> object:
    """Drop the draft and let the command run (at once, if the flow knows it)."""
    command = s.form.command or ""
    await s.drop()
    run = s.flow.run_after_drop.get(command)
    await s.show(Message(s.t("dropped") if run else s.t("dropped_resend", command=command)))
    if s.form.keyboard:
        await s.say(Message(s.t("cancelled"), ask=Ask.NOTHING))
    if run is not None:
        await run(s.update, s.context, s.w)
    return END


async def _cancel_command(s: Session[Any]) -> object:
    """/cancel: drop the draft and say so."""
    await s.drop()
    await s.say(Message(s.t("cancelled"), ask=Ask.NOTHING))
    return END


async def _cancel_button(s: Session[Any]) -> object:
    """❌ on any step's message."""
    await s.drop()
    await s.finish(s.t("cancelled_card"), s.t("cancelled"))
    return END


async def _old_button(s: Session[Any]) -> object:
    """A button of this draft from a step it has left. Its message is turned into the
    step the draft is at: a press handled again after a crash (the draft saved, the edit
    showing the next step lost) would otherwise leave a message whose every button is
    "old", and the sender with no way on but /cancel."""
    await s.answer(s.t("old_step_button"), alert=True)
    if s.flow.step(s.draft.step).redraw:
        await s.redraw()
    return None


async def _unexpected(s: Session[Any]) -> object:
    """Input the step does not take: say what it does take, and ask again."""
    here = s.draft.step
    return await s.go(here, note=s.t(s.flow.step(here).hint))


async def _ignore(update: Update, context: Context) -> None:
    """An edited message changes nothing in a draft (the new text must be sent again)."""
    return None
