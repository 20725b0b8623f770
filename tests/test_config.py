"""Configuration mistakes stop the start with one line naming the key and the file."""

from __future__ import annotations

import dataclasses
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.commands import say
from campaign.settings import (
    Secret,
    Settings,
    SettingsError,
    load_settings,
    parse_settings,
    require_token,
)

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
NO_ENV: dict[str, str] = {}


def said(key: str, **params: object) -> str:
    """What the command line prints, from the catalogue (zh-CN by default)."""
    return say(Settings(), key, **params)


def error_of(data: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as err:
        parse_settings(data, "conf.toml", NO_ENV if env is None else env)
    return str(err.value)


def test_defaults_are_valid() -> None:
    settings = parse_settings({}, "conf.toml", NO_ENV)
    assert settings.source == "conf.toml"
    assert settings.storage.database == "data/fieldbot.sqlite3"
    assert settings.tz.key == "Asia/Shanghai"


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    settings = load_settings(example, env=NO_ENV)
    assert settings.source == str(example)
    beside = dataclasses.replace(
        Settings().storage,
        database=str(example.parent / "data" / "fieldbot.sqlite3"),
        backup_dir=str(example.parent / "data" / "backups"),
    )
    assert settings.storage == beside  # relative paths mean beside the config file


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"storage": {"databse": "x.sqlite3"}}, "'storage.databse'"),
        ({"telegram": {"webhook": {"secret": "x"}}}, "'telegram.webhook.secret'"),
        ({"extra": {}}, "'extra'"),
    ],
)
def test_unknown_key(data: dict[str, Any], key: str) -> None:
    assert error_of(data) == f"conf.toml: unknown key {key}"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"quotas": {"monthly_visits": "8"}}, "key 'quotas.monthly_visits' must be a whole number"),
        ({"quotas": {"monthly_visits": True}}, "must be a whole number, got True"),
        ({"visits": {"far_km": "3"}}, "key 'visits.far_km' must be a number"),
        ({"telegram": {"rate_limit": "yes"}}, "key 'telegram.rate_limit' must be true or false"),
        ({"storage": {"database": 5}}, "key 'storage.database' must be a string"),
        ({"reminders": {"quiet_start": "25:00"}}, 'must be a time such as "19:30"'),
        ({"reminders": {"extra_holidays": [1]}}, "must be a list of strings"),
        ({"campaign": "Asia/Shanghai"}, "'campaign' must be a [campaign] section"),
    ],
)
def test_wrong_type(data: dict[str, Any], expected: str) -> None:
    message = error_of(data)
    assert message.startswith("conf.toml: ")
    assert expected in message


def test_values_of_the_right_type_are_taken() -> None:
    settings = parse_settings(
        {"visits": {"far_km": 5}, "reminders": {"quiet_start": "22:00"}}, "c", NO_ENV
    )
    assert settings.visits.far_km == 5.0 and isinstance(settings.visits.far_km, float)
    assert settings.reminders.quiet_start == time(22, 0)


def test_bad_timezone() -> None:
    message = error_of({"campaign": {"timezone": "Mars/Olympus_Mons"}})
    assert "'campaign.timezone' must be an IANA time zone" in message
    assert "'Mars/Olympus_Mons'" in message


def test_bad_language() -> None:
    message = error_of({"campaign": {"language": "fr"}})
    assert message == "conf.toml: key 'campaign.language' must be one of zh-CN, en, got 'fr'"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"storage": {"backup_keep": 0}}, "'storage.backup_keep' must be at least 1"),
        ({"storage": {"keep_outbox_days": 3}}, "'storage.keep_outbox_days' must be at least 7"),
    ],
)
def test_too_small_to_keep(data: dict[str, Any], key: str) -> None:
    assert key in error_of(data)


def test_bad_mode() -> None:
    assert "'telegram.mode' must be" in error_of({"telegram": {"mode": "push"}})


HOOK_SECRET = "k3Xq-9vT_2mPz8LwR4sNbY7cJd0FhGeA"  # 32 characters of Telegram's alphabet


@pytest.mark.parametrize("url", ["", "http://bot.example.org/hook"])
def test_webhook_mode_needs_an_https_url(url: str) -> None:
    data = {"telegram": {"mode": "webhook", "webhook": {"url": url, "secret_token": HOOK_SECRET}}}
    assert "key 'telegram.webhook.url' must be the public https:// address" in error_of(data)
    data["telegram"]["webhook"]["url"] = "https://bot.example.org/hook"  # type: ignore[index]
    assert parse_settings(data, "c", NO_ENV).telegram.mode == "webhook"


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("", "is empty"),
        ("s3cret-header", "at least 32 characters"),
        ("x" * 257, "at most 256 characters"),
        ("k3Xq 9vT/2mPz8LwR4sNbY7cJd0FhGeA+", "only letters, digits, _ and -"),
    ],
)
def test_webhook_mode_refuses_to_start_without_a_strong_secret(secret: str, expected: str) -> None:
    """Without the header check anyone who reaches the port can post a forged update."""
    hook = {"url": "https://bot.example.org/hook", "secret_token": secret}
    error = error_of({"telegram": {"mode": "webhook", "webhook": hook}})
    assert "key 'telegram.webhook.secret_token'" in error and expected in error
    assert "FIELDBOT_WEBHOOK_SECRET" in error or expected != "is empty"


def test_webhook_secret_from_environment_wins() -> None:
    hook = {"url": "https://bot.example.org/hook"}
    data = {"telegram": {"mode": "webhook", "webhook": hook}}
    env = {"FIELDBOT_WEBHOOK_SECRET": f" {HOOK_SECRET}\n"}
    assert parse_settings(data, "c", env).telegram.webhook.secret_token.get() == HOOK_SECRET
    # Polling needs none, and a short one left in the file does not stop it.
    polling = {"telegram": {"webhook": {"secret_token": "short"}}}
    assert parse_settings(polling, "c", NO_ENV).telegram.mode == "polling"


def test_negative_number() -> None:
    assert "'problems.group_days' (section [problems]) must not be negative" in error_of(
        {"problems": {"group_days": -1}}
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path / "nope.toml", env=NO_ENV)
    assert str(err.value).startswith(f"{tmp_path / 'nope.toml'}: config file not found")


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[storage]\ndatabase = "unterminated\n', encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path, env=NO_ENV)
    assert str(err.value).startswith(f"{path}: not valid TOML")


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes('[campaign]\nbot_username = "驻村"\n'.encode("gbk"))
    with pytest.raises(SettingsError) as err:
        load_settings(path, env=NO_ENV)
    assert str(err.value) == f"{path}: not UTF-8 text"


def test_unknown_key_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[quotas]\nmonthly_vists = 8\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path, env=NO_ENV)
    assert str(err.value) == f"{path}: unknown key 'quotas.monthly_vists'"


def test_token_from_environment_wins() -> None:
    data = {"telegram": {"token": "111:from-file"}}
    assert parse_settings(data, "c", NO_ENV).telegram.token.get() == "111:from-file"
    env = {"FIELDBOT_TOKEN": " 222:from-env \n"}
    assert parse_settings(data, "c", env).telegram.token.get() == "222:from-env"
    assert parse_settings(data, "c", {"FIELDBOT_TOKEN": ""}).telegram.token.get() == "111:from-file"


def test_token_never_shows_itself() -> None:
    settings = parse_settings(
        {"telegram": {"token": TOKEN, "webhook": {"secret_token": "s3cret-header"}}}, "c", NO_ENV
    )
    for text in (repr(settings), str(settings), repr(settings.telegram), f"{settings.telegram}"):
        assert TOKEN not in text and "s3cret-header" not in text
    assert "**********" in repr(settings.telegram.token)
    assert repr(Secret("")) == "Secret('')"
    assert require_token(settings) == TOKEN


@pytest.mark.parametrize(
    ("token", "expected"), [("", "is empty"), ("no-colon", "does not look like a bot token")]
)
def test_require_token(token: str, expected: str) -> None:
    settings = parse_settings({"telegram": {"token": token}}, "c", NO_ENV)
    with pytest.raises(SettingsError) as err:
        require_token(settings)
    assert expected in str(err.value)


# --- the command line ---------------------------------------------------------------------


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("fieldbot: ")
    return lines[0]


def test_cli_missing_config_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Run from an empty folder: beside config.example.toml, commands other than `run`
    # fall back to it.
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing.toml"
    assert main(["--config", str(missing), "migrate"]) == 2
    assert "config file not found" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []  # no database was created


def test_cli_run_without_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "missing.toml"), "run"]) == 2
    assert "config file not found" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[storage\n", "not valid TOML"),
        ("[storage]\ndatabase = 1\n", "key 'storage.database' must be a string"),
        ('[campaign]\nlanguage = "de"\n', "key 'campaign.language' must be one of"),
    ],
)
def test_cli_bad_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["--config", str(path), "migrate"]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and expected in line


def test_cli_run_without_token_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FIELDBOT_TOKEN", raising=False)
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\ndatabase = "{tmp_path.as_posix()}/db.sqlite3"\n')
    assert main(["--config", str(path), "run"]) == 2
    assert "key 'telegram.token' is empty" in one_error_line(capsys)


def test_cli_migrate_with_good_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\ndatabase = "{tmp_path.as_posix()}/db.sqlite3"\n')
    assert main(["--config", str(path), "migrate"]) == 0
    assert capsys.readouterr().out.startswith(said("migrated", count=0).split("0")[0])
    assert main(["--config", str(path), "migrate"]) == 0
    assert capsys.readouterr().out == said("up_to_date") + "\n"


# --- the first hour: set-up as a new user meets it ------------------------------------------


def test_a_notepad_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes('[campaign]\nbot_username = "fieldbot_demo_bot"\n'.encode("utf-8-sig"))
    assert load_settings(path, env=NO_ENV).campaign.bot_username == "fieldbot_demo_bot"


def test_a_bad_value_names_its_section() -> None:
    assert "'visits.far_km' (section [visits]) must not be negative" in error_of(
        {"visits": {"far_km": -1.0}}
    )


def test_relative_paths_mean_beside_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "c.toml"
    path.write_text('[storage]\ndatabase = "db/x.sqlite3"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings(Path("etc/c.toml"), env=NO_ENV).storage.database == str(
        Path("etc") / "db" / "x.sqlite3"
    )
    assert load_settings(path, env=NO_ENV).storage.database == str(
        tmp_path / "etc" / "db" / "x.sqlite3"
    )


def test_no_config_file_means_the_documented_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh clone with nothing but the token: no config.toml, defaults, and the
    database folder is made (with a log line) on the way."""
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    assert (tmp_path / "data" / "fieldbot.sqlite3").exists()
    assert said("migrated", count=0).split("0")[0] in capsys.readouterr().out


def test_config_goes_before_or_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\ndatabase = "{tmp_path.as_posix()}/new/db.sqlite3"\n')
    assert main(["migrate", "--config", str(path)]) == 0
    assert (tmp_path / "new" / "db.sqlite3").exists()
    assert main(["--config", str(path), "migrate", "-v"]) == 0
    assert capsys.readouterr().out.endswith(said("up_to_date") + "\n")


def test_a_database_folder_that_cannot_be_made_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\ndatabase = "{tmp_path.as_posix()}/file/sub/db.sqlite3"\n')
    assert main(["--config", str(path), "migrate"]) == 1
    err = capsys.readouterr().err
    assert "ERROR fieldbot: " in err and "key 'storage.database'" in err
    assert "cannot create the folder" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("fieldbot ")


def test_invite_without_bot_username_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\ndatabase = "{tmp_path.as_posix()}/db.sqlite3"\n')
    assert main(["--config", str(path), "invite", "13800000000"]) == 2
    assert "key 'campaign.bot_username' is empty" in one_error_line(capsys)
