"""Logging set-up: the token and full phone numbers never reach a log line."""

from __future__ import annotations

import logging
import re

# A mobile number as people write it: 13812345678, +86 138-1234-5678, 138 1234 5678.
# Not after a minus sign: supergroup chat ids (-1001234567890) stay readable in the log.
_PHONE = re.compile(r"(?<![\d\-])(\+?\d{2,4}[ \-]?)?(\d{3})[ \-]?\d{4}[ \-]?(\d{4})(?![\d])")
_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")


class RedactingFilter(logging.Filter):
    """Masks bot tokens and long phone-like digit runs in every record it sees."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        text = _TOKEN.sub("<token>", text)
        return _PHONE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(3)}", text)

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
