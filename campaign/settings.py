"""The settings schema: one frozen dataclass per TOML section, validated at start.

A bad or missing key raises :class:`SettingsError` whose message names the key, the
file and what was expected, so the command line can print one line and stop.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaign.workcalendar import parse_dates

TOKEN_ENV = "FIELDBOT_TOKEN"
WEBHOOK_SECRET_ENV = "FIELDBOT_WEBHOOK_SECRET"
# Telegram echoes the secret in a header of every webhook post; it allows 1-256 of these
# characters. 32 of them (about 190 bits) cannot be guessed by whoever reaches the port.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]*")
WEBHOOK_SECRET_MIN = 32
LANGUAGES = ("zh-CN", "en")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class SettingsError(Exception):
    """A user mistake in the configuration; the message is meant for a person."""


class Secret:
    """A string that never shows itself in a repr, str or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class WebhookSettings:
    listen: str = "0.0.0.0"
    port: int = 8443
    url: str = ""
    path: str = "fieldbot"
    secret_token: Secret = field(default_factory=lambda: Secret(""))


@dataclass(frozen=True)
class TelegramSettings:
    token: Secret = field(default_factory=lambda: Secret(""))
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: str = "polling"
    rate_limit: bool = True
    # Every Bot API call through this proxy: http://, https://, socks5:// (socks5h://
    # resolves names at the proxy). Empty: HTTPS_PROXY / ALL_PROXY from the environment.
    proxy: str = ""
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


@dataclass(frozen=True)
class StorageSettings:
    database: str = "data/fieldbot.sqlite3"
    backup_dir: str = "data/backups"
    backup_keep: int = 14
    keep_update_ids_days: int = 14
    keep_outbox_days: int = 90
    # PostgreSQL instead of the SQLite file: "postgresql://user@host:5432/fieldbot"
    # (docs/postgresql.md). Empty: the SQLite file above.
    url: str = ""

    @property
    def location(self) -> str:
        """What the bot opens: the PostgreSQL address when there is one, else the file."""
        return self.url or self.database


@dataclass(frozen=True)
class CampaignSettings:
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    invite_ttl_hours: int = 72
    bot_username: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class VisitSettings:
    backfill_days: int = 3
    max_text_chars: int = 2000
    edit_window_hours: int = 24
    far_km: float = 3.0
    draft_idle_hours: int = 12


@dataclass(frozen=True)
class RoleQuotaSettings:
    """A role's own quotas ([quotas.team_leader] ...); -1: as in [quotas]."""

    monthly_visits: int = -1
    monthly_days: int = -1
    quarterly_visits: int = -1
    quarterly_days: int = -1


QUOTA_KEYS = ("monthly_visits", "monthly_days", "quarterly_visits", "quarterly_days")


@dataclass(frozen=True)
class QuotaSettings:
    monthly_visits: int = 8
    monthly_days: int = 10
    quarterly_visits: int = 24
    quarterly_days: int = 30
    # Quotas that fit the role (team leaders are not held to a field cadre's numbers)
    # and the unit: "T1 monthly_visits=6 monthly_days=8" for a team or group by its code.
    group_leader: RoleQuotaSettings = field(default_factory=RoleQuotaSettings)
    team_leader: RoleQuotaSettings = field(default_factory=RoleQuotaSettings)
    deputy_team_leader: RoleQuotaSettings = field(default_factory=RoleQuotaSettings)
    overrides: tuple[str, ...] = ()


def parse_quota_override(text: str) -> tuple[str, dict[str, int]]:
    """``"T1 monthly_visits=6 monthly_days=8"`` → ("T1", {...}); ValueError if unreadable."""
    code, *pairs = text.replace(":", " ").replace(",", " ").split()
    values: dict[str, int] = {}
    for pair in pairs:
        key, _, number = pair.partition("=")
        if key not in QUOTA_KEYS or not number.isdigit():
            raise ValueError(pair)
        values[key] = int(number)
    if not values:
        raise ValueError(text)
    return code, values


@dataclass(frozen=True)
class ProblemSettings:
    group_days: int = 7
    team_days: int = 15
    office_days: int = 30
    urgent_group_days: int = 2
    urgent_team_days: int = 5
    urgent_office_days: int = 10


@dataclass(frozen=True)
class ReminderSettings:
    evening_nudge: time = time(19, 30)
    weekly_pace_weekday: int = 1
    weekly_pace_time: time = time(9, 0)
    period_end_workdays: int = 3
    quiet_start: time = time(21, 30)
    quiet_end: time = time(7, 30)
    bulletin_weekday: int = 1
    bulletin_time: time = time(8, 30)
    backup_time: time = time(2, 30)
    extra_holidays: tuple[str, ...] = ()
    extra_workdays: tuple[str, ...] = ()
    nudge_latest: time = time(21, 0)
    period_end_time: time = time(9, 0)
    catchup_hours: int = 24
    mute_max_days: int = 14
    deadline_blue_days: int = 2
    sweep_minutes: int = 15


@dataclass(frozen=True)
class OutboxSettings:
    max_attempts: int = 8
    global_per_second: int = 30
    chat_interval_seconds: float = 1.0
    group_per_minute: int = 20
    margin_seconds: float = 0.02
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    send_timeout_seconds: float = 15.0
    poll_seconds: float = 2.0
    unreachable_retry_hours: int = 24


@dataclass(frozen=True)
class PlanSettings:
    """[plans]: the campaign's months (YYYY-MM; empty: January / December of the
    current year). Plan items may only fall due in them."""

    first_month: str = ""
    last_month: str = ""
    remind_time: time = time(9, 15)  # workdays: items due soon to owners, overdue to leaders


@dataclass(frozen=True)
class ChecksSettings:
    """[checks]: log checks, correction items and 督办."""

    correction_days: int = 7  # a correction item is overdue after this many days
    urge_repeat_minutes: int = 60  # a second 督办 within this time pings nobody


@dataclass(frozen=True)
class MediaSettings:
    """[media]: photos and voice notes kept in the data folder as they arrive."""

    download: bool = True
    folder: str = ""  # empty: "media" beside the database file
    max_mb: float = 20.0  # Telegram's getFile serves at most 20 MB
    max_attempts: int = 5
    retry_seconds: float = 60.0
    pause_seconds: float = 1.0  # between two downloads: the bot's own sends come first
    poll_seconds: float = 30.0

    @property
    def cap_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)

    def folder_for(self, database: str) -> str | None:
        """Where files go; None when there is nowhere to keep them (a database in memory)."""
        if self.folder:
            return self.folder
        if not database or database == ":memory:":
            return None
        return str(Path(database).parent / "media")


@dataclass(frozen=True)
class CallbackSettings:
    """[callbacks]: asking the people after a problem ended (回访), and the watch list."""

    workdays_after: int = 3  # workdays after solved/explained before the call-back is asked
    remind_workdays: int = 2  # unanswered this many workdays: reminded once
    list_workdays: int = 2  # still unanswered this many workdays after: the group leader's list
    watch_after_days: int = 20  # an explained problem is first asked about after this long


@dataclass(frozen=True)
class AssessmentSettings:
    """The assessment rubric's weights (campaign/assessment.py, docs/assessment.md).
    ``visits`` and ``days`` are earned in full at the quota, up to ``quota_cap`` times
    it; ``problems_overdue`` is taken off per problem; the rest are per item."""

    visits: float = 30.0
    days: float = 30.0
    plans_done: float = 2.0
    problems_raised: float = 1.0
    problems_solved: float = 3.0
    problems_explained: float = 2.0
    problems_overdue: float = 2.0
    logs_checked: float = 1.0
    corrections_closed: float = 2.0
    cases_selected: float = 5.0
    satisfaction: float = 1.0
    quota_cap: float = 1.2


@dataclass(frozen=True)
class BulletinSettings:
    """The numbered bulletin (快报). ``sign_off``: each week's bulletin is first posted
    to the office chat as a draft; a draft nobody published goes out as it stands
    ``publish_after_hours`` later (0: held until the office publishes it)."""

    sign_off: bool = True
    publish_after_hours: int = 24
    masthead: str = "工作简报"
    issuer: str = "活动领导小组办公室"


@dataclass(frozen=True)
class ProcessSettings:
    """[processes]: several bot processes on one database in webhook mode
    (docs/processes.md). The dispatcher's lease is renewed every ``renew_seconds`` and
    lapses ``lease_seconds`` after the last renewal: a standby takes over then. A webhook
    update claimed by a process that died is taken over ``inbox_lease_seconds`` after."""

    lease_seconds: float = 6.0
    renew_seconds: float = 2.0
    inbox_lease_seconds: float = 30.0
    inbox_poll_seconds: float = 1.0
    max_body_bytes: int = 1_048_576  # a webhook post larger than this is refused (413)


@dataclass(frozen=True)
class WeComSettings:
    """[wecom]: the WeCom (企业微信) channel (docs/wecom.md). ``enabled`` runs it; a county
    may run it alone (no Telegram token needed) or beside Telegram."""

    enabled: bool = False
    corp_id: str = ""
    agent_id: int = 0
    secret: Secret = field(default_factory=lambda: Secret(""))
    token: Secret = field(default_factory=lambda: Secret(""))  # the callback's Token
    encoding_aes_key: Secret = field(default_factory=lambda: Secret(""))  # 43 characters
    listen: str = "0.0.0.0"
    port: int = 8444
    path: str = "wecom"
    proxy: str = ""
    # 政务微信 and other private deployments serve the same API from their own host.
    api_base_url: str = "https://qyapi.weixin.qq.com"
    # One message to a member at most this often: WeCom drops (silently) more than 30 a
    # minute or 1,000 an hour to one member, so 3.6 s keeps under both.
    member_interval_seconds: float = 3.6
    telegram: bool = False  # also run Telegram (its token set) beside WeCom


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    campaign: CampaignSettings = field(default_factory=CampaignSettings)
    visits: VisitSettings = field(default_factory=VisitSettings)
    quotas: QuotaSettings = field(default_factory=QuotaSettings)
    problems: ProblemSettings = field(default_factory=ProblemSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    plans: PlanSettings = field(default_factory=PlanSettings)
    checks: ChecksSettings = field(default_factory=ChecksSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    assessment: AssessmentSettings = field(default_factory=AssessmentSettings)
    bulletin: BulletinSettings = field(default_factory=BulletinSettings)
    processes: ProcessSettings = field(default_factory=ProcessSettings)
    wecom: WeComSettings = field(default_factory=WeComSettings)
    source: str = "<defaults>"

    @property
    def tz(self) -> ZoneInfo:
        return self.campaign.tz


_TYPE_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}


def _describe(tp: Any) -> str:
    if tp in _TYPE_WORDS:
        return _TYPE_WORDS[tp]
    if tp is Secret:
        return "a string"
    if tp is time:
        return 'a time such as "19:30"'
    if typing.get_origin(tp) is tuple:
        return "a list of strings"
    return str(tp)


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    def bad() -> SettingsError:
        return SettingsError(f"{source}: key '{key}' must be {_describe(tp)}, got {value!r}")

    if tp is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad()
        return value
    if tp is Secret:
        if not isinstance(value, str):
            raise bad()
        return Secret(value)
    if tp is time:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                return time.fromisoformat(value)
            except ValueError:
                raise bad() from None
        raise bad()
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad()
        return tuple(value)
    raise bad()


def _build(cls: type, data: dict[str, Any], prefix: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    for key in data:
        if key not in names:
            where = f"{prefix}{key}"
            raise SettingsError(f"{source}: unknown key '{where}'")
    kwargs: dict[str, Any] = {}
    for name in names:
        if name not in data:
            continue
        tp = hints[name]
        full = f"{prefix}{name}"
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if not isinstance(data[name], dict):
                raise SettingsError(f"{source}: '{full}' must be a [{full}] section")
            kwargs[name] = _build(tp, data[name], f"{full}.", source)
        else:
            if isinstance(tp, types.UnionType):
                raise SettingsError(f"{source}: unsupported type for '{full}'")
            kwargs[name] = _coerce(data[name], tp, full, source)
    return cls(**kwargs)


def _validate(s: Settings) -> None:
    src = s.source
    try:
        ZoneInfo(s.campaign.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{src}: key 'campaign.timezone' must be an IANA time zone such as "
            f'"Asia/Shanghai", got {s.campaign.timezone!r}'
        ) from None
    if s.campaign.language not in LANGUAGES:
        raise SettingsError(
            f"{src}: key 'campaign.language' must be one of {', '.join(LANGUAGES)}, "
            f"got {s.campaign.language!r}"
        )
    if s.telegram.mode not in ("polling", "webhook"):
        raise SettingsError(
            f'{src}: key \'telegram.mode\' must be "polling" or "webhook", got {s.telegram.mode!r}'
        )
    if s.telegram.mode == "webhook" and not s.telegram.webhook.url.startswith("https://"):
        raise SettingsError(
            f"{src}: key 'telegram.webhook.url' must be the public https:// address "
            'Telegram posts updates to (needed when telegram.mode is "webhook")'
        )
    if s.telegram.mode == "webhook":
        _validate_webhook_secret(src, s.telegram.webhook.secret_token.get())
    proxy = s.telegram.proxy
    if proxy and (proxy.partition("://")[0] not in PROXY_SCHEMES or "://" not in proxy):
        raise SettingsError(
            f"{src}: key 'telegram.proxy' (section [telegram]) must be an address such as "
            f'"socks5://127.0.0.1:1080" or "http://127.0.0.1:7890" (schemes: '
            f"{', '.join(PROXY_SCHEMES)}), got {proxy!r}"
        )
    if not s.storage.database:
        raise SettingsError(f"{src}: key 'storage.database' must be a file path")
    if s.storage.url and not s.storage.url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(
            f"{src}: key 'storage.url' (section [storage]) must be a postgresql:// address"
        )
    for role in ("group_leader", "team_leader", "deputy_team_leader"):
        for key in QUOTA_KEYS:
            if getattr(getattr(s.quotas, role), key) < -1:
                raise SettingsError(
                    f"{src}: key 'quotas.{role}.{key}' must be 0 or more (-1: as in [quotas])"
                )
    for text in s.quotas.overrides:
        try:
            parse_quota_override(text)
        except ValueError:
            raise SettingsError(
                f"{src}: key 'quotas.overrides' holds {text!r}; write a team or group code, "
                f'then numbers such as "T1 monthly_visits=6 monthly_days=8" (keys: '
                f"{', '.join(QUOTA_KEYS)})"
            ) from None
    for key in ("first_month", "last_month"):
        value = getattr(s.plans, key)
        if value and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value) is None:
            raise SettingsError(
                f"{src}: key 'plans.{key}' must be a month such as \"2026-03\", got {value!r}"
            )
    for key in (
        "max_attempts",
        "global_per_second",
        "chat_interval_seconds",
        "group_per_minute",
        "poll_seconds",
    ):
        if getattr(s.outbox, key) <= 0:
            raise SettingsError(f"{src}: key 'outbox.{key}' must be above zero")
    for f in dataclasses.fields(s.processes):
        if getattr(s.processes, f.name) <= 0:
            raise SettingsError(f"{src}: key 'processes.{f.name}' must be above zero")
    if s.processes.renew_seconds * 2 > s.processes.lease_seconds:
        raise SettingsError(
            f"{src}: key 'processes.renew_seconds' must be at most half of "
            "'processes.lease_seconds', so that one late renewal does not lose the lease"
        )
    for key in ("max_mb", "max_attempts", "poll_seconds"):
        if getattr(s.media, key) <= 0:
            raise SettingsError(f"{src}: key 'media.{key}' (section [media]) must be above zero")
    for name in (
        "visits",
        "quotas",
        "problems",
        "storage",
        "outbox",
        "media",
        "assessment",
        "bulletin",
    ):
        section = getattr(s, name)
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise SettingsError(
                    f"{src}: key '{name}.{f.name}' (section [{name}]) must not be negative, "
                    f"got {value}"
                )


def _validate_reminders(s: Settings) -> None:
    src, r = s.source, s.reminders
    try:
        holidays = parse_dates(r.extra_holidays, "reminders.extra_holidays")
        workdays = parse_dates(r.extra_workdays, "reminders.extra_workdays")
    except ValueError as exc:
        raise SettingsError(f"{src}: {exc}") from None
    both = sorted(holidays & workdays)
    if both:
        raise SettingsError(
            f"{src}: key 'reminders.extra_workdays' repeats {both[0].isoformat()}, which "
            "'reminders.extra_holidays' also lists; a date can only be one of them"
        )
    for key in ("weekly_pace_weekday", "bulletin_weekday"):
        if not 1 <= getattr(r, key) <= 7:
            raise SettingsError(
                f"{src}: key 'reminders.{key}' must be 1 (Monday) to 7 (Sunday), "
                f"got {getattr(r, key)}"
            )
    limits = {
        "period_end_workdays": (1, 20),
        "catchup_hours": (1, 72),
        "mute_max_days": (1, 60),
        "deadline_blue_days": (1, 14),
        "sweep_minutes": (1, 720),
    }
    for key, (low, high) in limits.items():
        if not low <= getattr(r, key) <= high:
            raise SettingsError(
                f"{src}: key 'reminders.{key}' must be {low} to {high}, got {getattr(r, key)}"
            )
    if r.nudge_latest <= r.evening_nudge:
        raise SettingsError(
            f"{src}: key 'reminders.nudge_latest' must be later than "
            f"'reminders.evening_nudge' ({r.evening_nudge:%H:%M}), got {r.nudge_latest:%H:%M}"
        )
    if r.quiet_start > r.evening_nudge and r.nudge_latest > r.quiet_start:
        # A nudge queued after quiet hours begin would reach people the next morning.
        raise SettingsError(
            f"{src}: key 'reminders.nudge_latest' must not be later than "
            f"'reminders.quiet_start' ({r.quiet_start:%H:%M}), got {r.nudge_latest:%H:%M}"
        )
    if s.storage.backup_keep < 1:
        raise SettingsError(f"{src}: key 'storage.backup_keep' must be at least 1")
    if s.storage.keep_outbox_days < 7:
        raise SettingsError(f"{src}: key 'storage.keep_outbox_days' must be at least 7")


def _validate_webhook_secret(src: str, secret: str) -> None:
    """Webhook mode does not start without the header check: without it anyone who
    reaches the port can post an update in an office member's name."""
    key = f"{src}: key 'telegram.webhook.secret_token'"
    hint = (
        f"set it (or {WEBHOOK_SECRET_ENV}) to a random string, e.g. the output of "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
    if not secret:
        raise SettingsError(f"{key} is empty, and webhook mode needs it; {hint}")
    if len(secret) < WEBHOOK_SECRET_MIN:
        raise SettingsError(f"{key} must be at least {WEBHOOK_SECRET_MIN} characters; {hint}")
    if len(secret) > 256:
        raise SettingsError(f"{key} must be at most 256 characters (Telegram's limit)")
    if not _WEBHOOK_SECRET.fullmatch(secret):
        raise SettingsError(f"{key} may hold only letters, digits, _ and - (Telegram's rule)")


def parse_settings(
    data: dict[str, Any], source: str = "<config>", env: dict[str, str] | None = None
) -> Settings:
    """Build settings from parsed TOML; ``FIELDBOT_TOKEN`` and ``FIELDBOT_WEBHOOK_SECRET``
    in ``env`` win over the file."""
    settings: Settings = _build(Settings, data, "", source)
    settings = dataclasses.replace(settings, source=source)
    source_env: typing.Mapping[str, str] = os.environ if env is None else env
    token = source_env.get(TOKEN_ENV, "").strip()
    if token:
        tg = dataclasses.replace(settings.telegram, token=Secret(token))
        settings = dataclasses.replace(settings, telegram=tg)
    hook_secret = source_env.get(WEBHOOK_SECRET_ENV, "").strip()
    if hook_secret:
        wh = dataclasses.replace(settings.telegram.webhook, secret_token=Secret(hook_secret))
        tg = dataclasses.replace(settings.telegram, webhook=wh)
        settings = dataclasses.replace(settings, telegram=tg)
    _validate(settings)
    _validate_reminders(settings)
    _validate_checks(settings)
    _validate_callbacks(settings)
    _validate_wecom(settings)
    return settings


def channels(s: Settings) -> tuple[str, ...]:
    """The chat channels this county runs: "telegram", "wecom" or both. WeCom enabled
    runs WeCom, and Telegram beside it only with ``wecom.telegram``."""
    if not s.wecom.enabled:
        return ("telegram",)
    return ("telegram", "wecom") if s.wecom.telegram else ("wecom",)


def _validate_wecom(s: Settings) -> None:
    w = s.wecom
    if not w.enabled:
        return
    src = s.source
    for key in ("corp_id", "secret", "token", "encoding_aes_key"):
        value = getattr(w, key)
        if not (value.get() if isinstance(value, Secret) else value):
            raise SettingsError(
                f"{src}: key 'wecom.{key}' (section [wecom]) is empty; the app's page in "
                "WeCom's admin console shows it (docs/wecom.md)"
            )
    if w.agent_id <= 0:
        raise SettingsError(f"{src}: key 'wecom.agent_id' (section [wecom]) must be the AgentId")
    if len(w.encoding_aes_key.get()) != 43:
        raise SettingsError(
            f"{src}: key 'wecom.encoding_aes_key' (section [wecom]) must be the 43-character "
            "EncodingAESKey of the app's callback settings"
        )
    if not w.api_base_url.startswith(("https://", "http://")):
        raise SettingsError(f"{src}: key 'wecom.api_base_url' must be an http(s):// address")
    proxy = w.proxy
    if proxy and (proxy.partition("://")[0] not in PROXY_SCHEMES or "://" not in proxy):
        raise SettingsError(f"{src}: key 'wecom.proxy' must be an address such as socks5://...")
    if w.member_interval_seconds <= 0:
        raise SettingsError(f"{src}: key 'wecom.member_interval_seconds' must be above zero")


def _validate_checks(s: Settings) -> None:
    for f in dataclasses.fields(s.checks):
        if getattr(s.checks, f.name) <= 0:
            raise SettingsError(
                f"{s.source}: key 'checks.{f.name}' (section [checks]) must be above zero"
            )


def load_settings(path: str | Path, env: dict[str, str] | None = None) -> Settings:
    p = Path(path)
    if not p.exists():
        raise SettingsError(
            f"{p}: config file not found; copy config.example.toml to {p} and fill in "
            f"the token (or set {TOKEN_ENV})"
        )
    try:
        # utf-8-sig: Windows Notepad saves UTF-8 with a byte-order mark.
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{p}: not UTF-8 text") from None
    return _beside(parse_settings(data, str(p), env), p.parent)


def _beside(settings: Settings, folder: Path) -> Settings:
    """Relative file paths in a config file mean beside that file, wherever the command
    is run from (paths typed on the command line stay relative to the working folder)."""

    def place(value: str) -> str:
        if not value or value == ":memory:" or Path(value).is_absolute():
            return value
        return str(folder / value) if str(folder) not in ("", ".") else value

    st = settings.storage
    storage = dataclasses.replace(st, database=place(st.database), backup_dir=place(st.backup_dir))
    media = dataclasses.replace(settings.media, folder=place(settings.media.folder))
    return dataclasses.replace(settings, storage=storage, media=media)
    return dataclasses.replace(settings, storage=storage)


def require_token(settings: Settings) -> str:
    token = settings.telegram.token.get().strip()
    if not token:
        raise SettingsError(
            f"{settings.source}: key 'telegram.token' is empty; set it, or set {TOKEN_ENV}"
        )
    if ":" not in token:
        raise SettingsError(
            f"{settings.source}: key 'telegram.token' does not look like a bot token "
            "(expected the form 123456:ABC... given by @BotFather)"
        )
    return token


def _validate_callbacks(s: Settings) -> None:
    limits = {
        "workdays_after": (1, 30),
        "remind_workdays": (1, 20),
        "list_workdays": (1, 20),
        "watch_after_days": (1, 365),
    }
    for key, (low, high) in limits.items():
        value = getattr(s.callbacks, key)
        if not low <= value <= high:
            raise SettingsError(
                f"{s.source}: key 'callbacks.{key}' (section [callbacks]) must be {low} to "
                f"{high}, got {value}"
            )
