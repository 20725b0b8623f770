"""Callback-data codec: every button's data is built and parsed here.

Form: ``<namespace>:v<version>:<action>[:<arg>...]``, e.g. ``prb:v1:ack:1234``. The data
is self-contained, so a button still means the same thing days later; handlers
re-authorise the presser on every press. Telegram caps callback data at 64 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_BYTES = 64
VERSION = "v1"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.]{1,40}$")
_DATA = re.compile(r"[A-Za-z0-9_\-.]{1,40}(?::[A-Za-z0-9_\-.]{1,40})*")  # tokens joined by ':'


class CallbackError(ValueError):
    """Malformed, foreign or outdated callback data."""


@dataclass(frozen=True)
class Callback:
    namespace: str
    action: str
    args: tuple[str, ...] = ()
    version: str = VERSION

    def int_arg(self, index: int = 0) -> int:
        try:
            value = int(self.args[index])
        except (IndexError, ValueError):
            raise CallbackError(f"argument {index} of {self.action!r} is not a number") from None
        if value < 0 or value > 2**62:
            raise CallbackError("argument out of range")
        return value


def encode(namespace: str, action: str, *args: object, version: str = VERSION) -> str:
    parts = [namespace, version, action, *(str(a) for a in args)]
    data = ":".join(parts)
    # One match for the whole: every button of every keyboard comes through here.
    if _DATA.fullmatch(data) is None or len(parts) != data.count(":") + 1:
        for part in parts:
            if not _TOKEN.match(part):
                raise CallbackError(f"callback part {part!r} has characters outside [A-Za-z0-9_-.]")
    if len(data) > MAX_BYTES:  # ASCII only, so characters are bytes
        raise CallbackError(f"callback data {data!r} is over {MAX_BYTES} bytes")
    return data


def decode(data: str | None, namespace: str | None = None) -> Callback:
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackError("empty or oversized callback data")
    parts = data.split(":")
    if len(parts) < 3 or not all(_TOKEN.match(p) for p in parts):
        raise CallbackError("malformed callback data")
    ns, version, action, *args = parts
    if namespace is not None and ns != namespace:
        raise CallbackError(f"callback namespace {ns!r} is not {namespace!r}")
    if version != VERSION:
        raise CallbackError(f"callback version {version!r} is no longer understood")
    return Callback(ns, action, tuple(args), version)


def pattern(namespace: str) -> str:
    """A regex for ``CallbackQueryHandler(pattern=...)`` matching one namespace."""
    return rf"^{re.escape(namespace)}:"


# --- typed builders: one per namespace ---------------------------------------------------


@dataclass(frozen=True)
class Namespace:
    """The buttons of one feature: ``build`` makes their data, ``parse`` reads a press
    back (refusing another namespace, an old version or an unknown action), ``pattern``
    is the ``CallbackQueryHandler`` regex. ``actions`` maps each action to how many
    arguments it carries: ``(least, most)``; a press with another count is refused."""

    name: str
    actions: dict[str, tuple[int, int]]
    # build's memory: (action, args) → data. Bounded: past the size it starts over (a
    # draft's buttons are drawn within minutes, then rarely again).
    _built: dict[tuple[str, tuple[object, ...]], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def build(self, action: str, *args: object) -> str:
        # The same buttons are drawn again and again (a step redrawn after each press,
        # ❌ on every step): their data is remembered by its parts. Only plain ints and
        # strings are (True == 1 as a key, but not as text), and only data that passed
        # the checks.
        plain = True
        for a in args:
            if type(a) is not int and type(a) is not str:
                plain = False
                break
        key = (action, args)
        if plain:
            known = self._built.get(key)
            if known is not None:
                return known
        self._check(action, len(args))
        data = encode(self.name, action, *args)
        if plain:
            if len(self._built) >= _BUILT_MAX:
                self._built.clear()
            self._built[key] = data
        return data

    def parse(self, data: str | None) -> Callback:
        cb = decode(data, self.name)
        self._check(cb.action, len(cb.args))
        return cb

    @property
    def prefix(self) -> str:
        """What the data of every button of this namespace starts with."""
        return f"{self.name}:{VERSION}:"

    def pattern(self, *actions: str) -> str:
        """Every button of this namespace, or only the given actions."""
        for action in actions:
            if action not in self.actions:
                raise ValueError(f"{self.name} has no action {action!r}")
        head = rf"^{re.escape(self.name)}:{VERSION}:"
        if not actions:
            return head
        return head + "(?:" + "|".join(re.escape(a) for a in actions) + ")(?::|$)"

    def _check(self, action: str, count: int) -> None:
        arity = self.actions.get(action)
        if arity is None:
            raise CallbackError(f"{self.name} has no action {action!r}")
        least, most = arity
        if not least <= count <= most:
            raise CallbackError(f"{self.name}:{action} takes {least}..{most} arguments")


_BUILT_MAX = 50_000


def _ns(name: str, **actions: tuple[int, int] | int) -> Namespace:
    return Namespace(name, {a: (n, n) if isinstance(n, int) else n for a, n in actions.items()})


# The main menu's buttons: menu:v1:<key>.
MENU = _ns("menu", visit=0, my=0, problem=0, summary=0, help=0, lang=0)
# Language choice: lang:v1:set:<code>.
LANG = _ns("lang", set=1)

# --- visits: vis (the visit flow), vlog (the visit log) ----------------------------------

# The visit flow: vis:v1:<action>:<draft id>[:<arg>...]. The draft id comes first on
# every button (the step engine reads it): pl/pv a place (its id), pg a page, top the
# whole list, k a kind of work (code, 1 on / 0 off), kd done, d a day (YYYYMMDD), kt keep
# the text, mc model case (1/0), cp/cl clear photos/location, nx next, ok submit, ch
# change a field (its name), res/new resume or restart, keep/drop the draft, x cancel.
VISIT = _ns(
    "vis",
    pl=2, pv=2, pg=2, top=1, k=3, kd=1, d=2, kt=1, mc=2, cp=1, cl=1, nx=1,
    ok=1, ch=2, res=1, new=1, keep=1, drop=1, x=1,
    pi=2,  # the plan item the visit served (its id; 0: none)
)  # fmt: skip
# The visit log: vlog:v1:<action>:<visit id or page>. gp a page of /group, sh a visit's
# card, ed correct it, wd withdraw? wy yes, wn no.
VISIT_LOG = _ns("vlog", gp=1, sh=1, ed=1, wd=1, wy=1, wn=1)

# --- problems: prn (raising), prb (cards), pra (the card-action dialog) -----------------

# Raising a problem: prn:v1:<action>:<draft id>[:<choice>]. The draft id comes first (the
# step engine reads it): a button of an ended or other report is told apart from one of
# the report being typed.
PROBLEM = _ns(
    "prn",
    cancel=1,
    place=2,  # a place (or household) id
    vill=2,  # a village whose households to list
    back=1,
    new=1,
    join=2,  # the open problem to join as "same problem"
    cat=2,  # a category word
    pdone=1,
    urg=2,  # 1 urgent, 0 not
    solv=2,  # 1 the group can solve it, 0 not
    edit=1,
    field=2,  # the summary field to change
    submit=1,
    keep=1,  # the step engine's: keep the draft after another command came
    drop=1,  # the step engine's: drop it for that command
)
# Problem cards: prb:v1:<action>:<problem id>:<level the card was made for>, and
# prb:v1:show:<problem id> from the lists. Cards live for weeks in chats, so these never
# change meaning.
CARD = _ns("prb", claim=2, note=2, solve=2, expl=2, up=2, down=2, dept=2, show=1)
# The card-action dialog: pra:v1:cancel:<draft id>, pra:v1:day:<draft id>:<days back>,
# and the step engine's keep/drop (another command came mid-dialog).
CARD_DIALOG = _ns("pra", cancel=1, day=2, keep=1, drop=1)

# --- office: obx (parked messages), rpt (reports) ----------------------------------------
# The office's /parked list: send a parked item again (obx:v1:retry:<item>), or declare a
# chat reachable again (obx:v1:reach:<chat id>, negative for groups).
PARKED = _ns("obx", retry=1, reach=1)
# Reports: a cadre picked from an ambiguous /log (rpt:v1:log:<cadre>:<period token>).
REPORT = _ns("rpt", log=2)

# --- plans: pln (lists and cards), plp (a progress report), pla (a leader's item) --------

# Plan items: pln:v1:show:<item id> opens a card; pln:v1:add a leader's new item;
# pln:v1:ed:<item id> changes one, pln:v1:cx:<item id> cancels it (with a reason);
# pln:v1:prg:<item id>:<1 done / 0 progress> reports.
# Cards stay in chats for weeks, so these never change meaning; each press is judged
# again (owner, leader, item still open).
PLAN = _ns("pln", show=1, add=0, ed=1, prg=2, cx=1)
# A progress report: plp:v1:<action>:<draft id>. skip the number, pdone photos done, ok
# submit, x cancel; keep/drop are the step engine's.
PLAN_PROGRESS = _ns("plp", x=1, skip=1, pdone=1, ok=1, keep=1, drop=1)
# A leader's item: pla:v1:<action>:<draft id>[:<arg>]. kind a kind of work (or "none"),
# mon a month (YYYYMM), own an owner (cadre id) on/off, odone owners chosen, field a field
# to change from the summary, skip (no measure), ok submit, x cancel, keep/drop.
PLAN_ITEM = _ns(
    "pla", x=1, skip=1, kind=2, mon=2, own=2, odone=1, field=2, ok=1, keep=1, drop=1
)  # fmt: skip
# --- checking the work: chk (checks and their dialog), cor (corrections), urg, isp --------

# Checking a log or a visit: chk:v1:log:<cadre>:<period token>:<ok|fix> under /log,
# chk:v1:vis:<visit>:<ok|fix> on a visit's card, chk:v1:sv:<visit> a visit picked under
# /log to be checked. The dialog that asks for the words (a comment, a correction's
# answer, a reason, an inspection) carries its draft id first: x cancel, keep/drop
# (another command came), skip (no comment), ok (send the answer), day (an inspection's
# day: days back), none (an inspection with no correction items).
CHECK = _ns(
    "chk", log=3, vis=2, sv=1, x=1, keep=1, drop=1, skip=1, ok=1, day=2, none=1
)  # fmt: skip
# A correction item (整改项): cor:v1:<action>:<correction id>. ans answer it (its cadre),
# close / back close it or send it back (its checker, or the office), show its card.
CORRECTION = _ns("cor", ans=1, close=1, back=1, show=1)
# 督办 a problem: urg:v1:go:<problem id>.
URGE = _ns("urg", go=1)
# An on-site inspection (现场督查) of a group picked from a list: isp:v1:grp:<group id>.
INSPECTION = _ns("isp", grp=1, team=1, top=0)
# --- evidence: evd (open the photos, voice note and location of a visit or a problem) ----
# evd:v1:v:<visit id> a visit's, evd:v1:p:<problem id> a problem's. Re-authorised on every
# press with the scope of the visit card, /log and the problem views.
EVIDENCE = _ns("evd", v=1, p=1)
# --- call-backs (回访) and the watch list: cbk, wch ---------------------------------------
# The call-back dialog: cbk:v1:ans:<call-back id>:<result> (the ask's buttons: 满意 /
# 基本满意 / 不满意 open the dialog with the answer chosen), cbk:v1:rec:<call-back id> (the
# group leader's list: open it at the answer); inside it the draft id comes first: res a
# result, how the way the people were reached, skip no note, and the engine's x/keep/drop.
CALLBACK = _ns("cbk", ans=2, rec=1, res=2, how=2, skip=1, x=1, keep=1, drop=1)
# The watch list: wch:v1:<action>:<problem id> for still (still cannot), solved (solved
# meanwhile), can (can now: reopen) and re (重新办理 from /ledger), the last two opening
# the dialog that asks why; inside it: wch:v1:x:<draft id> and the engine's keep/drop.
WATCH = _ns("wch", still=1, solved=1, can=1, re=1, x=1, keep=1, drop=1)
# --- assessment: cas (model cases), bul (the bulletin), rnk (rankings) ----------------------
# Model cases: cas:v1:pick:<visit id> from /cases (the office selects a flagged visit);
# the selection dialog's cas:v1:ok:<draft id>, and the step engine's x, keep, drop.
CASES = _ns("cas", pick=1, ok=1, x=1, keep=1, drop=1)
# The bulletin's draft in the office chat: bul:v1:<action>:<issue number>[:<case id>]:
# open (write the opening), cases (pick the model cases), tog (carry a case or not),
# back (to the draft), pub (publish).
BULLETIN = _ns("bul", open=1, cases=1, tog=2, back=1, pub=1)
# The private dialog that takes the opening text: bop:v1:<action>:<draft id>.
BULLETIN_OPENING = _ns("bop", x=1, keep=1, drop=1)
