"""bot/logs.py: the token and full phone numbers never reach a log line, however the
number is written and also inside an exception's traceback."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import RedactingFilter
from tests.crashrun import log_problems, phone_pattern
from tests.fakebot import TOKEN
from tests.scripts import phone_variants

PHONE = "+8613912345678"


@pytest.mark.parametrize("written", phone_variants(PHONE))
def test_every_way_of_writing_a_number_is_masked(written: str) -> None:
    clean = RedactingFilter([TOKEN]).redact(f"contact {{'phone_number': '{written}'}}")
    assert not phone_pattern(PHONE).search(clean), clean
    assert "5678" in clean  # the last four stay, to tell people apart


def test_timestamps_and_ids_are_left_alone() -> None:
    text = "2026-11-28 01:54:32,529 update 20000018 chat -1001234 date 1795831774"
    assert RedactingFilter([TOKEN]).redact(text) == text
    team_chat = "card sent to chat -1001234567890"  # a supergroup id is not a phone
    assert RedactingFilter([TOKEN]).redact(team_chat) == team_chat


def test_the_token_and_a_traceback_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN]))
    log = logging.getLogger("test_logs")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"GET /bot{TOKEN}/getMe for 139 1234 5678 failed")
        except RuntimeError:
            log.error("request to /bot%s failed", TOKEN, exc_info=True)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "<token>" in text
    assert log_problems(text, TOKEN, [PHONE], errors_too=False) == []
