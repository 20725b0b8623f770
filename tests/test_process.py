"""The real ``fieldbot run`` process against the fake Bot API over HTTP: it starts (the
preflight getMe, then long polling), answers, survives SIGKILL and restarts, waits out
an unreachable API, refuses a rejected token, and loses no update to a kill."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.botprocess import DAY, NIGHT, BotProcess
from tests.crashrun import log_problems
from tests.crowd import seed_crowd
from tests.fakebot import TOKEN, TgUser
from tests.fakeserver import SHOWING, ControlClient, FakeServer
from tests.updates import Updates

pytestmark = pytest.mark.process

ASK_PHONE = "请点击下方按钮分享您的手机号"


def shown(server: FakeServer, chat_id: int, since: int = 0) -> list[str]:
    """Texts sent or edited into ``chat_id`` after call ``since``."""
    return [
        str(c.params.get("text") or c.params.get("caption") or "")
        for c in server.fake.calls_since(since, chat_id=str(chat_id))
        if c.ok and c.method in SHOWING
    ]


def wait_shown(
    server: FakeServer, chat_id: int, fragment: str, since: int = 0, timeout: float = 20
) -> list[str]:
    """Wait until a text holding ``fragment`` is shown in ``chat_id``; all texts shown."""
    server.fake.wait_until(
        lambda: any(fragment in t for t in shown(server, chat_id, since)), timeout
    )
    texts = shown(server, chat_id, since)
    assert any(fragment in t for t in texts), f"no {fragment!r} in {texts!r}"
    return texts


def wait_taken(server: FakeServer, update_id: int, timeout: float = 20) -> None:
    """Until the bot confirmed ``update_id`` (it asks for the next ones only after
    processing, so confirmed means handled)."""
    fake = server.fake
    assert fake.wait_until(lambda: fake.confirmed > update_id, timeout), fake.state()


@pytest.mark.parametrize("bot_process", [DAY, NIGHT], indirect=True)
def test_starts_answers_and_stops_cleanly(fake_server: FakeServer, bot_process: BotProcess) -> None:
    bot_process.run_cli("migrate")
    (member,) = seed_crowd(bot_process.database, 1)
    bot_process.start()
    control = ControlClient(fake_server.url)
    methods = [c.method for c in fake_server.fake.log]
    assert methods[:2] == ["getMe", "getMe"]  # the preflight, then PTB's own
    assert "deleteWebhook" in methods and "setMyCommands" in methods
    u = Updates()
    _, seq = control.calls()
    control.post_update(u.text(member.user, "/start"))
    ask = ASK_PHONE if member.lang == "zh-CN" else "Share my phone"
    wait_shown(fake_server, member.user.id, ask, seq)
    _, seq = control.calls()
    control.post_update(u.contact(member.user, member.phone))
    wait_shown(fake_server, member.user.id, member.name, seq)
    assert bot_process.stop() == 0
    assert (
        bot_process.rows("SELECT telegram_user_id FROM telegram_bindings")[0][0] == member.user.id
    )
    assert "Application.stop() complete" in bot_process.log_text()
    assert log_problems(bot_process.log_text(), TOKEN, [member.phone]) == []


def test_kill_and_restart_keeps_what_was_done(
    fake_server: FakeServer, bot_process: BotProcess
) -> None:
    bot_process.run_cli("migrate")
    (member,) = seed_crowd(bot_process.database, 1)
    control = ControlClient(fake_server.url)
    u = Updates()
    bot_process.start()
    wait_taken(fake_server, control.post_update(u.contact(member.user, member.phone)))
    bot_process.kill()
    bot_process.start()
    _, seq = control.calls()
    control.post_update(u.text(member.user, "/start"))
    # A joined cadre is greeted, not asked for the phone again.
    texts = wait_shown(fake_server, member.user.id, member.name, seq)
    assert not any(ASK_PHONE in t for t in texts)
    assert bot_process.kills == 1 and bot_process.starts == 2


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_kill_while_answering_loses_no_update(
    fake_server: FakeServer, bot_process: BotProcess, phase: str
) -> None:
    """Killed in the middle of handling an update (at its reply), the bot must get the
    update again after the restart: Telegram re-sends what was not confirmed, so the
    bot must confirm an update only once it is handled."""
    control = ControlClient(fake_server.url)
    stranger = TgUser(4242)
    bot_process.start()
    control.arm_kill(bot_process.pid, method="sendMessage", phase=phase)
    uid = control.post_update(Updates().text(stranger, "/start"))
    assert bot_process.reap() == -9
    bot_process.start()
    wait_shown(fake_server, stranger.id, ASK_PHONE)
    wait_taken(fake_server, uid)
    assert fake_server.fake.deliveries[uid] == 2
    processed = bot_process.rows("SELECT 1 FROM processed_updates WHERE update_id = ?", (uid,))
    assert processed


def test_redelivered_updates_are_skipped(fake_server: FakeServer, bot_process: BotProcess) -> None:
    """Handled and recorded, but killed before the next getUpdates confirmed them:
    Telegram delivers them again, and the bot changes nothing and answers nothing twice."""
    bot_process.run_cli("migrate")
    members = seed_crowd(bot_process.database, 5)
    control = ControlClient(fake_server.url)
    fake = fake_server.fake
    bot_process.start()
    u = Updates()
    ids = list(range(1000, 1000 + len(members)))
    # Armed before posting: killed at the poll that would confirm the last of them.
    control.arm_kill(bot_process.pid, method="getUpdates", min_offset=ids[-1] + 1)
    for uid, m in zip(ids, members, strict=True):
        control.post_update({**u.contact(m.user, m.phone), "update_id": uid})
    assert bot_process.reap() == -9
    before = bot_process.rows("SELECT COUNT(*) FROM audit_log")[0][0]
    assert before == len(members)  # each bound once, before the kill
    bot_process.start()
    wait_taken(fake_server, ids[-1])
    again = [uid for uid in ids if fake.deliveries[uid] == 2]
    assert again and again[-1] == ids[-1]
    for uid in again:
        assert f"update {uid} was delivered again; ignored" in bot_process.log_text()
    for m in members:
        greetings = [c for c in fake.log if m.name in str(c.params.get("text"))]
        assert len(greetings) == 1, m.name  # no second greeting
    assert bot_process.rows("SELECT COUNT(*) FROM audit_log")[0][0] == before
    assert bot_process.rows("SELECT COUNT(*) FROM telegram_bindings")[0][0] == len(members)


class Refuser:
    """A port that takes connections and drops them at once: the Bot API is down.
    Each attempt sets an event, so the test waits for attempts, not for time."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])
        self.attempts = 0
        self.attempted = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()
            with self.attempted:
                self.attempts += 1
                self.attempted.notify_all()

    def wait_attempts(self, n: int, timeout: float) -> bool:
        with self.attempted:
            return self.attempted.wait_for(lambda: self.attempts >= n, timeout)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.sock.close()


def test_unreachable_api_is_waited_out(tmp_path: Path) -> None:
    refuser = Refuser()
    placeholder = FakeServer(port=0)  # only for the config's address
    placeholder.stop()
    bot = BotProcess(tmp_path, placeholder)
    bot.config.write_text(
        bot.config.read_text().replace(f":{placeholder.port}/", f":{refuser.port}/")
    )
    bot.spawn()
    try:
        # Two attempts: the first failed, the bot backed off and tried again.
        assert refuser.wait_attempts(2, 30), bot.log_tail()
        assert bot.running and "is not reachable" in bot.log_text()
        refuser.close()
        with FakeServer(port=refuser.port) as server:
            assert server.fake.wait_until(lambda: server.fake.polls > 0, 30), bot.log_tail()
            assert bot.running
    finally:
        refuser.close()
        bot.kill()
    assert TOKEN not in bot.log_text() and TOKEN.split(":")[1] not in bot.log_text()


def test_rejected_token_stops_with_one_line(tmp_path: Path) -> None:
    with FakeServer(token="1:another-bots-token-zzzzzzzzzzzzzzzzzzzzzzzz") as server:
        bot = BotProcess(tmp_path, server)
        result = bot.run_cli("run", timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "telegram.token" in lines[0] and "rejected" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert TOKEN.split(":")[1] not in result.stderr + result.stdout


def test_a_press_answered_before_a_kill_still_does_its_work(
    fake_server: FakeServer, bot_process: BotProcess
) -> None:
    """Killed right after answering a language button (the answer reached Telegram, the
    rest did not happen): the press comes again, Telegram refuses a second answer, and
    the bot still saves the choice and says so, with no error in the log."""
    bot_process.run_cli("migrate")
    (member,) = seed_crowd(bot_process.database, 1)
    control = ControlClient(fake_server.url)
    fake = fake_server.fake
    u = Updates()
    bot_process.start()
    for update in (u.contact(member.user, member.phone), u.text(member.user, "/lang")):
        uid = control.post_update(update)
        wait_taken(fake_server, uid)
    control.arm_kill(bot_process.pid, method="answerCallbackQuery", phase="after")
    _, seq = control.calls()
    label = "English" if member.lang == "zh-CN" else "中文"
    press = control.press(member.user.as_dict(), member.user.id, label)
    assert bot_process.reap() == -9
    bot_process.start()
    wait_taken(fake_server, press)
    saved = "Language set to English." if label == "English" else "已切换为中文。"
    wait_shown(fake_server, member.user.id, saved, seq)
    refused = [c.error for c in fake.log if not c.ok]
    assert any("query is too old" in e for e in refused)
    assert bot_process.stop() == 0
    assert log_problems(bot_process.log_text(), TOKEN, [member.phone]) == []


def test_tracebacks_in_the_log_hold_no_token_or_phone(
    fake_server: FakeServer, bot_process: BotProcess
) -> None:
    """An API error whose text carries the token and phone numbers (as an echoing proxy
    or a URL in an exception would) goes through the error handler's traceback; the
    debug log prints the shared contact as sent. Neither leaks."""
    bot_process.verbose = True
    bot_process.run_cli("migrate")
    (member,) = seed_crowd(bot_process.database, 1)
    local = member.phone[3:]
    spaced = f"+86 {local[:3]} {local[3:7]} {local[7:]}"
    control = ControlClient(fake_server.url)
    bot_process.start()
    control.fail_next(
        "sendMessage",
        400,
        f"Bad Request: upstream said bot{TOKEN}/sendMessage failed for {member.phone}"
        f" and {local[:3]}-{local[3:7]}-{local[7:]}",
    )
    uid = control.post_update(Updates().contact(member.user, spaced))
    wait_taken(fake_server, uid)
    assert bot_process.stop() == 0
    text = bot_process.log_text()
    assert "Traceback" in text and "error while handling an update" in text
    (raised,) = [line for line in text.splitlines() if line.startswith("telegram.error")]
    assert "bot<token>/" in raised and raised.count(f"{local[:3]}****{local[-4:]}") == 2
    assert log_problems(text, TOKEN, [member.phone], errors_too=False) == []


def test_an_unreadable_update_is_skipped_not_spun_on(
    fake_server: FakeServer, bot_process: BotProcess
) -> None:
    """An update python-telegram-bot cannot read (here a poll answer without a field
    this version requires) must not stop the bot: it is skipped with one error line and
    the next update is answered."""
    control = ControlClient(fake_server.url)
    fake = fake_server.fake
    bot_process.start()
    polls = fake.polls
    poison = control.post_update(
        {"poll_answer": {"poll_id": "p", "user": TgUser(5).as_dict(), "option_ids": []}}
    )
    after = control.post_update(Updates().text(TgUser(6), "/start"))
    wait_shown(fake_server, 6, ASK_PHONE)
    wait_taken(fake_server, after)
    assert fake.polls - polls < 10  # not a loop of refetching the same batch
    assert bot_process.stop() == 0
    errors = [line for line in bot_process.log_text().splitlines() if " ERROR " in line]
    assert errors and all(f"update {poison} cannot be read" in line for line in errors)
    assert "CRITICAL" not in bot_process.log_text()


def test_a_fatal_error_at_start_goes_through_the_redacting_log(tmp_path: Path) -> None:
    """Not a raw traceback from Python on stderr (which no filter sees), but a log
    record: the token and phone numbers are masked there like everywhere else."""
    with FakeServer() as server:
        bot = BotProcess(tmp_path, server)
        config = bot.config.read_text().replace(str(bot.database), "/proc/none/x.sqlite3")
        bot.config.write_text(config)
        result = bot.run_cli("run", timeout=60)
    output = result.stderr + result.stdout
    assert result.returncode == 1
    first = output.index("Traceback")
    assert "CRITICAL fieldbot: fieldbot stopped by an unexpected error" in output[:first]
    assert log_problems(output, TOKEN, [], errors_too=False) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post_webhook(port: int, update: dict[str, object], secret: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hook",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_webhook_mode_takes_updates_with_the_secret_only(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    secret = "webhook-secret-0123456789-abcdefghij"
    port = _free_port()
    bot = BotProcess(
        tmp_path,
        fake_server,
        telegram_config='mode = "webhook"\n',
        verbose=True,  # -v logs setWebhook's parameters: the secret must not show
        extra_config=(
            "\n[telegram.webhook]\n"
            f'listen = "127.0.0.1"\nport = {port}\nurl = "https://example.invalid/hook"\n'
            f'path = "hook"\nsecret_token = "{secret}"\n'
        ),
    )
    with bot:
        bot.run_cli("migrate")
        (member,) = seed_crowd(bot.database, 1)
        proc = bot.spawn()
        fake = fake_server.fake
        fake.wait_until(
            lambda: any(c.method == "setWebhook" for c in fake.log) or proc.poll() is not None,
            60,
        )
        (hook,) = [c for c in fake.log if c.method == "setWebhook"]
        assert hook.params["url"] == "https://example.invalid/hook"
        assert hook.params["secret_token"] == secret
        update = {"update_id": 900_001, **Updates().text(member.user, "/start")}
        status = 0
        for _ in range(100):  # the server may still be starting
            try:
                status = _post_webhook(port, update, "wrong")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 403  # a post without the secret is refused
        assert _post_webhook(port, update, secret) == 200
        wait_shown(fake_server, member.user.id, ASK_PHONE if member.lang == "zh-CN" else "phone")
        assert bot.stop() == 0
        # Handled updates reach the disk at stop (in webhook mode nothing polls).
        assert bot.rows("SELECT 1 FROM processed_updates WHERE update_id = 900001")
        log = bot.log_text()
        assert secret not in log and log_problems(log, TOKEN, [member.phone], False) == []
        # The refused post leaves a DEBUG traceback from the web server, and no error.
        assert " ERROR " not in log and " CRITICAL " not in log


def test_restore_is_refused_while_the_bot_runs(
    fake_server: FakeServer, bot_process: BotProcess
) -> None:
    """Restoring under the running bot once exited 0, and what the bot wrote afterwards
    vanished at the next start; a second bot on the same database is refused too."""
    bot_process.run_cli("migrate")
    seed_crowd(bot_process.database, 1)
    assert bot_process.run_cli("backup").returncode == 0
    (made,) = (bot_process.folder / "backups").glob("fieldbot-*.sqlite3")
    bot_process.start()
    refused = bot_process.run_cli("restore", str(made))
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "stop the bot" in refused.stderr
    second = bot_process.run_cli("run")
    assert second.returncode == 2 and "in use" in second.stderr
    assert bot_process.stop() == 0
    assert bot_process.run_cli("restore", str(made)).returncode == 0
