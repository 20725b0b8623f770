"""The step engine's pieces a flow's steps are written against: the ``Step`` a flow
declares, the ``Session`` every step function gets, ``Stop``. handlers/flow.py puts
them together (and says how to declare a flow); import them from there."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from telegram import Message as TgMessage
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from campaign.callbacks import Callback
from campaign.message import Ask, Button, Message
from handlers import screen
from handlers.common import Cadre, Context, Who
from services import drafts
from services.drafts import Draft
from services.runtime import Deps

if TYPE_CHECKING:  # a session knows its flow; the flow module imports this one
    from handlers.flow import Flow

log = logging.getLogger(__name__)

END = ConversationHandler.END
ASK_DROP = "ask_drop"  # the engine's own step: another command came mid-flow


class FlowForm(Protocol):
    """What a flow's draft data must offer the engine (besides the flow's own fields)."""

    back: str | None  # the step a question (drop the draft?) returns to
    command: str | None  # the command that interrupted the flow
    keyboard: bool  # a reply keyboard was shown: take it away when the flow ends

    def dump(self) -> dict[str, Any]: ...


F = TypeVar("F", bound=FlowForm)


Action = Callable[["Session[F]"], Awaitable[object]]
Prompt = Callable[["Session[F]"], Awaitable[Message]]
Handler = Callable[[Update, Context], Coroutine[Any, Any, object]]


class Stop(Exception):
    """Leave the handler now and return ``state`` to the ConversationHandler."""

    def __init__(self, state: object = None) -> None:
        super().__init__()
        self.state = state


@dataclass(frozen=True)
class Step(Generic[F]):
    """One question of a flow: what it asks and how it reads the answer."""

    name: str
    prompt: Prompt[F]
    buttons: Mapping[str, Action[F]] = field(default_factory=dict)  # action → function
    text: Action[F] | None = None
    photo: Action[F] | None = None
    voice: Action[F] | None = None
    location: Action[F] | None = None
    next: str | None = None  # where ``Session.forward`` goes
    # Called when the draft comes to this step from another: it may set the form (saved
    # with the step) and return a message sent before the prompt (e.g. a reply keyboard).
    enter: Callable[[Session[F]], Message | None] | None = None
    hint: str = "unexpected"  # key (in the flow's texts) said for input not taken here
    redraw: bool = True  # an old button of the draft redraws this step
    question: bool = False  # an aside (resume? drop?): never the step to return to


@dataclass
class Session(Generic[F]):
    """One update inside a flow: who sent it, their open draft and its form, the button."""

    flow: Flow[F]
    update: Update
    context: Context
    w: Who
    draft: Draft
    form: F
    cb: Callback | None = None
    answered: bool = False
    cache: dict[str, Any] = field(default_factory=dict)  # what a step found, for its prompt

    @property
    def d(self) -> Deps:
        return self.w.deps

    @property
    def cadre(self) -> Cadre:
        """The sender's cadre (a session is only made for a cadre on the roster)."""
        assert self.w.cadre is not None
        return self.w.cadre

    @property
    def today(self) -> date:
        return self.d.local_now().date()

    @property
    def message(self) -> TgMessage:
        message = self.update.effective_message
        assert message is not None
        return message

    @property
    def chat_id(self) -> int:
        return self.draft.chat_id

    def t(self, key: str, /, **values: Any) -> str:
        """A text of the flow's catalogue section."""
        return self.w.t(f"{self.flow.texts}.{key}", **values)

    def button(self, text: str, action: str, *args: object) -> Button:
        """A button of this draft: the draft id goes first, as the engine reads it."""
        return Button(text, self.flow.ns.build(action, self.draft.id, *args))

    def cancel_button(self) -> Button:
        return self.button(self.t("cancel"), self.flow.cancel)

    async def answer(self, text: str | None = None, alert: bool = False) -> None:
        """Answer the press (once: Telegram takes one answer per press)."""
        query = self.update.callback_query
        if query is not None and not self.answered:
            self.answered = True
            await screen.answer(self.context.bot, query.id, text, alert)

    async def say(self, message: Message) -> None:
        """A new message in the flow's chat."""
        await self.answer()
        await screen.send(self.context.bot, self.chat_id, message.text, screen.markup_of(message))

    async def show(self, message: Message) -> None:
        """Edit the message whose button was pressed; otherwise send a new one."""
        await self.answer()
        query = self.update.callback_query
        pressed = query.message if query is not None else None
        if self.cb is not None and pressed is not None and pressed.chat.id == self.chat_id:
            markup = screen.markup_of(message) if message.buttons else None
            try:
                await screen.edit(
                    self.context.bot, self.chat_id, pressed.message_id, message.text, markup
                )
                return
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return
                log.info("could not edit a %s message (%s); sending anew", self.flow.kind, exc)
        await self.say(message)

    async def persist(self, step: str) -> None:
        """Save the draft and the step it reaches (nothing to write if nothing changed)."""
        data = self.form.dump()
        if step == self.draft.step and data == self.draft.data:
            return
        saved = await drafts.save_step(self.d.db, self.draft, step, data, self.d.now())
        if saved is None:
            await self.answer(self.t("draft_closed"), alert=True)
            raise Stop(END)
        self.draft = saved

    async def go(self, step: str, *, note: str | None = None) -> str:
        """Save the draft at ``step``, then show that step's question (``note`` above it)."""
        target = self.flow.step(step)
        intro = None
        if target.enter is not None and step != self.draft.step:
            intro = target.enter(self)
            if intro is not None and intro.ask is not None and intro.ask is not Ask.NOTHING:
                self.form.keyboard = True
        await self.persist(step)
        if intro is not None:
            await self.say(intro.with_text(f"{note}\n{intro.text}") if note else intro)
            note = None
        prompt = await target.prompt(self)
        await self.show(prompt.with_text(f"{note}\n\n{prompt.text}") if note else prompt)
        return step

    async def forward(self, *, note: str | None = None) -> str:
        """On to the step after the current one (the flow's ``route`` may say otherwise)."""
        return await self.go(self.flow.after(self, self.draft.step), note=note)

    async def redraw(self) -> None:
        """Show the current step again in the pressed message."""
        await self.show(await self.flow.step(self.draft.step).prompt(self))

    async def drop(self) -> bool:
        """Close the draft as cancelled; False if it was no longer open."""
        return await drafts.cancel(self.d.db, self.draft.id, self.d.now())

    async def finish(self, title: str, outcome: str) -> None:
        """The pressed card keeps its content (``Flow.card``) without buttons; the outcome
        follows as a new message, which also takes away a reply keyboard shown before."""
        await self.show(Message(self.flow.card(self, title)))
        await self.say(Message(outcome, ask=Ask.NOTHING if self.form.keyboard else None))
