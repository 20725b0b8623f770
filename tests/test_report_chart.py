"""The chart's font: chosen by family name, Simplified Chinese, regular weight."""

from __future__ import annotations

import logging

import pytest

from reports import chart
from reports.chart import CJK_FAMILIES, NoCJKFont, find_cjk_font


def test_a_simplified_chinese_family_in_a_regular_weight() -> None:
    try:
        font = find_cjk_font()
    except NoCJKFont:
        pytest.skip("no CJK font here (.ci/system-packages installs fonts-noto-cjk)")
    from matplotlib import font_manager

    assert font.family in CJK_FAMILIES
    found = font_manager.findfont(
        font_manager.FontProperties(family=font.family, weight="regular"),
        fallback_to_default=False,
    )
    faces = font_manager.fontManager.ttflist
    entries = [f for f in faces if f.fname == str(found) and f.name == font.family]
    assert entries and entries[0].weight in (400, "regular", "normal")
    assert "Thin" not in font.family and "JP" not in font.family


def test_the_environment_names_a_font_file(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        font = find_cjk_font()
    except NoCJKFont:
        pytest.skip("no CJK font here")
    monkeypatch.setenv(chart.FONT_ENV, "Nonexistent Family")
    assert find_cjk_font() == font  # an unknown name falls back to the list, with a warning


def test_none_found_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(chart.FONT_ENV, raising=False)
    with caplog.at_level(logging.ERROR, logger="reports.chart"), pytest.raises(NoCJKFont):
        find_cjk_font(("No Such Font SC",))
    (line,) = [r.getMessage() for r in caplog.records]
    assert "fonts-noto-cjk" in line and chart.FONT_ENV in line
