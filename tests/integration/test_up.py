"""`zenith up` end to end: one process tree, a simulated Telegram user, a credited video.

With test servers (DATABASE_URL / REDIS_URL) and no TELEGRAM_BOT_TOKEN, `zenith up`
migrates, runs the Bot API sandbox, bot, every worker pool, clock and web; a Gold
creator talks to the bot through the sandbox's control HTTP API, verifies a YouTube
channel (local fake), submits a video and is credited. Then the same on embedded
PostgreSQL and Redis under DATA_DIR: /start answered, clean stop.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from decimal import Decimal

import psycopg

from tests.conftest import TEST_REDIS_URL
from tests.fakes.cryptopay import run_fake_cryptopay
from tests.fakes.env import platform_env
from tests.fakes.tiktok import run_fake_tiktok
from tests.fakes.youtube import run_fake_youtube
from tests.integration.conftest import describe, free_port, wait_until

WORKER_POOLS = ("submission", "parsing", "rates", "payouts", "notifications")


class SandboxControl:
    """The sandbox's control HTTP API, as another process (a test) uses it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _call(self, method: str, path: str, body: dict | None = None, timeout: float = 70) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())["result"]
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()[:500]}") from None

    def reachable(self) -> bool:
        try:
            self._call("GET", "/sandbox/info", timeout=2)
        except (OSError, AssertionError):
            return False
        return True

    def send(self, user_id: int, text: str, **fields: str) -> dict:
        return self._call("POST", f"/sandbox/users/{user_id}/send", {"text": text, **fields})

    def press(self, user_id: int, message_id: int, callback_data: str) -> dict:
        return self._call(
            "POST", f"/sandbox/users/{user_id}/press", {"message_id": message_id, "callback_data": callback_data}
        )

    def wait(self, chat_id: int, contains: str, *, after: int | None = None, timeout: float = 30) -> dict:
        query = {"contains": contains, "timeout": str(timeout)}
        if after is not None:
            query["after"] = str(after)
        return self._call("GET", f"/sandbox/chats/{chat_id}/wait?{urllib.parse.urlencode(query)}")


def callback_data(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row if "callback_data" in button]


def _stop(procs, up, *, name: str = "up") -> float:
    began = time.monotonic()
    up.send_signal(signal.SIGTERM)
    assert up.wait(timeout=35) == 0, procs.log_tail(name)
    took = time.monotonic() - began
    assert took < 30
    wait_until(lambda: not procs.pids(), timeout=10, what=f"every process gone (left: {describe(procs.pids())})")
    return took


def test_up_runs_everything_and_a_gold_creator_gets_credited(tree, empty_database_url, redis_namespace, tmp_path):
    sandbox_port, web_port = free_port(), free_port()
    with run_fake_youtube() as youtube, run_fake_tiktok() as tiktok, run_fake_cryptopay() as cryptopay:
        procs = tree(
            {
                "DATABASE_URL": empty_database_url,  # `zenith up` migrates it
                "REDIS_URL": TEST_REDIS_URL,
                "REDIS_NAMESPACE": redis_namespace,
                "DATA_DIR": str(tmp_path / "data"),
                "SANDBOX_PORT": str(sandbox_port),
                "PORT": str(web_port),
                "SUPERVISOR_STATUS_INTERVAL_SECONDS": "1",
                **platform_env(youtube=youtube, tiktok=tiktok, cryptopay=cryptopay),
            }
        )
        started = time.monotonic()
        up = procs.zenith("up", name="up")
        sandbox = SandboxControl(f"http://127.0.0.1:{sandbox_port}")
        wait_until(sandbox.reachable, timeout=30, what="the sandbox pool")

        # the first events; the migration runner's own lines (one per migration) carry none
        first = [event for event in (line.get("event") for line in procs.log_lines("up")) if event][:8]
        servers = procs.events("up", "up_servers")[0]
        assert first[:2] == ["up_integrations", "up_servers"], first
        found = procs.events("up", "up_integrations")[0]
        assert found["telegram"].startswith("Bot API sandbox") and found["youtube"].startswith(
            "configured (http://127.0.0.1:"
        )
        assert found["tiktok"] == f"pages from {tiktok.url}" and found["crypto_pay"].startswith(
            "configured (http://127.0.0.1:"
        )
        assert found["otlp"].startswith("off")
        assert (servers["database"], servers["redis"], servers["sandbox"]) == ("external", "external", True)
        assert "Bot API sandbox" in servers["message"] and "up_migrated" in first

        uid = int(uuid.uuid4().int % 10**9) + 10**9
        sandbox.send(uid, "/start", first_name="Gold", language_code="en")
        sandbox.wait(uid, "Hi, Gold", timeout=60)
        print(f"\n/start answered {time.monotonic() - started:.1f} s after `zenith up` was started")
        with psycopg.connect(empty_database_url, autocommit=True) as conn:
            assert conn.execute("UPDATE users SET tier = 'gold' WHERE telegram_id = %s", (uid,)).rowcount == 1

        # Verify a YouTube channel: the code goes into its description, "Check" verifies it.
        channel_id = "UC" + uuid.uuid4().hex[:22]
        sandbox.send(uid, "/accounts")
        listing = sandbox.wait(uid, "No linked accounts")
        sandbox.press(uid, listing["message_id"], "acc:add:youtube:0")
        sandbox.wait(uid, "YouTube channel")
        sandbox.send(uid, f"https://www.youtube.com/channel/{channel_id}")
        code_message = sandbox.wait(uid, "Verification code")
        code = code_message["text"].split("\n\n")[1].strip()
        youtube.state.add_channel(channel_id, handle=f"@{channel_id.lower()}", description=f"my channel {code}")
        sandbox.press(uid, code_message["message_id"], callback_data(code_message)[0])
        sandbox.wait(uid, "verified", after=code_message["message_id"], timeout=30)

        # Submit a video of that channel: Gold is auto-approved, checked and credited.
        video_id = uuid.uuid4().hex[:11]
        youtube.state.add_video(video_id, views=20_000, channel_id=channel_id)
        link = sandbox.send(uid, f"https://youtu.be/{video_id}")
        sandbox.wait(uid, "1 link accepted")
        sandbox.wait(uid, "+1,300.00 RUB", after=link["message"]["message_id"], timeout=45)
        with psycopg.connect(empty_database_url) as conn:
            credited = conn.execute(
                "SELECT t.amount FROM ledger_transfers t JOIN videos v ON v.id = t.video_id WHERE v.external_id = %s AND t.kind = 'earning'",
                (video_id,),
            ).fetchall()
        assert credited == [(Decimal("1300.00"),)]

        status = procs.run_zenith("status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        shown = json.loads(status.stdout)
        (snapshot,) = shown["supervisors"]
        pools = {pool["name"]: pool for pool in snapshot["pools"]}
        assert set(pools) == {"sandbox", *WORKER_POOLS, "clock", "bot", "web"}
        assert all(
            slot["state"] == "running" and slot["restarts"] == 0 for pool in pools.values() for slot in pool["slots"]
        ), pools
        assert set(shown["queues"]) == set(WORKER_POOLS) and shown["note"] is None
        table = procs.run_zenith("status").stdout
        assert all(f"{name} " in table for name in WORKER_POOLS + ("clock", "bot", "web", "sandbox")), table

        checked = procs.run_zenith("ledger", "check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        took = _stop(procs, up)
        print(f"`zenith up` stopped cleanly {took:.2f} s after SIGTERM")


def test_up_on_embedded_servers_answers_start_and_stops_cleanly(tree, tmp_path):
    sandbox_port, web_port = free_port(), free_port()
    data_dir = tmp_path / "embedded"
    procs = tree(
        {
            "DATA_DIR": str(data_dir),
            "SANDBOX_PORT": str(sandbox_port),
            "PORT": str(web_port),
            "REDIS_NAMESPACE": "zenith",
        }
    )
    started = time.monotonic()
    up = procs.zenith("up", name="up-embedded")
    sandbox = SandboxControl(f"http://127.0.0.1:{sandbox_port}")
    wait_until(sandbox.reachable, timeout=60, what="the sandbox pool")
    servers = procs.events("up-embedded", "up_servers")[0]
    assert (servers["database"], servers["redis"], servers["sandbox"]) == ("embedded", "embedded", True)
    found = procs.events("up-embedded", "up_integrations")[0]
    assert found["youtube"].startswith("not configured (no YOUTUBE_API_KEY") and found["crypto_pay"].startswith(
        "not configured (no CRYPTO_PAY_TOKEN"
    )

    sandbox.send(777000111, "/start", first_name="Dev", language_code="en")
    sandbox.wait(777000111, "Hi, Dev", timeout=60)
    print(f"\nembedded: /start answered {time.monotonic() - started:.1f} s after `zenith up` was started")
    took = _stop(procs, up, name="up-embedded")
    print(f"embedded: stopped cleanly {took:.2f} s after SIGTERM")
