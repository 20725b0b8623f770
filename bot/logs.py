"""Logging set-up: the token, the webhook secret, invite codes and full phone numbers
never reach a log line, at any level (``-v`` logs whole updates and API parameters)."""

from __future__ import annotations

import logging
import re

_SEP = r"[ \-.()\u00a0]"
# A mainland mobile however people write it: 13812345678, +86 138-1234-5678,
# 138.1234.5678, (138)1234-5678, 008613812345678. Not after a minus sign or a digit:
# supergroup chat ids (-1001234567890) and timestamps stay readable in the log.
_MAINLAND = re.compile(
    rf"(?<![\d\-.])(?P<cc>(?:\+|00)?86{_SEP}?)?\(?(?P<head>1[3-9]\d)\)?{_SEP}?\d{{4}}{_SEP}?"
    rf"(?P<tail>\d{{4}})(?!\d)"
)
# Any number written with a country code: +44 7700 900123, +886 912 345 678.
_INTERNATIONAL = re.compile(rf"(?<![\w+])\+\d(?:{_SEP}*\d){{6,14}}(?!\d)")
# A shared contact's number in an update dump: international digits, often without "+".
_CONTACT = re.compile(r"""(["']phone_number["']\s*:\s*["'])([^"']*)(["'])""")
_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
# setWebhook's parameters (a dict repr or JSON) and the header Telegram sends it back in.
_SECRET = re.compile(
    r"""((?:["']secret_token["']\s*:\s*["'])|(?:Secret-Token["']?\s*[:=]\s*["']?))[A-Za-z0-9_-]+""",
    re.IGNORECASE,
)
# An invite link's payload (/start inv_...): whoever reads it could bind as that cadre.
_INVITE = re.compile(r"\binv_[A-Za-z0-9_-]+")


def _keep_last_four(text: str) -> str:
    """Every digit but the last four becomes ``*``; separators stay."""
    digits = sum(ch.isdigit() for ch in text)
    out, seen = [], 0
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


class RedactingFilter(logging.Filter):
    """Masks bot tokens, secrets, invite codes and phone numbers in every record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        text = _TOKEN.sub("<token>", text)
        text = _SECRET.sub(lambda m: f"{m.group(1)}<secret>", text)
        text = _INVITE.sub("inv_<code>", text)
        text = _CONTACT.sub(lambda m: m.group(1) + _keep_last_four(m.group(2)) + m.group(3), text)
        # 138****5678, first: the operator can still tell people apart.
        text = _MAINLAND.sub(lambda m: f"{m['cc'] or ''}{m['head']}****{m['tail']}", text)
        return _INTERNATIONAL.sub(lambda m: _keep_last_four(m.group(0)), text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message or record.exc_info:
            if record.exc_info:
                formatter = logging.Formatter()
                clean = clean + "\n" + self.redact(formatter.formatException(record.exc_info))
                record.exc_info = None
                record.exc_text = None
            record.msg = clean
            record.args = None
        return True


def hide_in_logs(secret: str) -> None:
    """A secret known only after set-up (the webhook's) is masked from now on."""
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                f.add_secret(secret)


def setup_logging(level: int = logging.INFO, secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
