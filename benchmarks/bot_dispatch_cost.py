"""CPU per update of the bot's dispatcher in-process, against the echo bot's, with no HTTP.

    PYTHONPATH=. .venv/bin/python benchmarks/bot_dispatch_cost.py [--users 1000] [--texts /help,/balance]
        [--concurrency 30] [--rounds 3] [--heap settled] [--redis-url redis://127.0.0.1:6379/0]

``bot_vs_echo.py`` measures whole processes over HTTP, where one pair's ratio moves more
between runs on a shared 2-core host than most changes move it. This measures only what
the bot's own code and aiogram's dispatcher cost per update, in one process:

- the dispatcher ``zenith bot`` runs (`open_bot_runtime`: its middlewares, routers, database
  pool, Redis, kept users rows), and the echo bot's (``benchmarks/echo_bot.py``);
- the Bot API answered in-process: each call's body is built as it would be posted (the
  project's `FastSession` for ours, aiogram's default session for the echo bot) and a
  Bot API answer is validated as aiogram validates one, with no socket in between;
- updates parsed before the clock starts (both bots parse the same ``getUpdates``) and
  fed ``--concurrency`` at a time, as polling does (the bot's default bound is 30).

PostgreSQL and Redis are real: their round trips count in the bot's CPU, as in the
service. Each round runs, from the same state (no creator marked seen, fresh Redis keys):
the echo bot on ``--users`` creators sending the ``--texts`` in turn; ``zenith bot``
**cold** on the same updates (each creator's first messages: their row read and marked
seen, their /balance read from PostgreSQL); then **warm** (the same creators again: rows
kept, /balance cached). Prints per round and the median over rounds: CPU µs per update of
each, the share of it spent in garbage collection, and the ratio to the echo bot.

``--heap settled`` (default) settles the heap after start-up as the bot process does
(``zenith.bootstrap.settle_heap``); ``--heap default`` keeps Python's collector settings,
to see what that costs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import redis
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.methods import SendMessage, TelegramMethod  # noqa: E402
from aiogram.types import Update  # noqa: E402

from benchmarks.bot_response import FAILURE_TEXTS, pick_users  # noqa: E402
from benchmarks.echo_bot import build_echo_dispatcher  # noqa: E402
from benchmarks.scale_data import ScaleDatabase, load_average, scale_database  # noqa: E402
from zenith.bootstrap import settle_heap  # noqa: E402
from zenith.bot.runtime import open_bot_runtime  # noqa: E402
from zenith.config import load_settings  # noqa: E402
from zenith.platforms.telegram_session import FastSession  # noqa: E402
from zenith.sandbox.runner import SANDBOX_TOKEN  # noqa: E402

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Bot", "username": "bench_bot"}
PYTHON_GC_THRESHOLDS = gc.get_threshold()


class AnsweredInProcess:
    """A session mixin: each call's body is built, the Bot API's answer validated, no socket;
    the texts sent are kept in ``sent``."""

    sent: list[str]

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.build_form_data(bot, method)  # type: ignore[attr-defined]  # what would be posted
        if isinstance(method, SendMessage):
            self.sent.append(method.text)
        body = {"ok": True, "result": _result(method)}
        return self.check_response(bot, method, 200, self.json_dumps(body)).result  # type: ignore[attr-defined]


class EchoSession(AnsweredInProcess, AiohttpSession):
    """aiogram's default session, answered in-process."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = []


class ZenithSession(AnsweredInProcess, FastSession):
    """The project's session, answered in-process."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = []


def _result(method: TelegramMethod[Any]) -> Any:
    if isinstance(method, SendMessage):
        return {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": method.chat_id, "type": "private"},
            "from": BOT_USER,
            "text": method.text,
        }
    if method.__api_method__ == "getMe":
        return BOT_USER
    return True


def build_updates(telegram_ids: list[int], texts: list[str], *, first_id: int) -> list[Update]:
    """Every creator's messages, the ``texts`` in turn, creator after creator in each turn."""
    updates = []
    for turn, text in enumerate(texts):
        for index, telegram_id in enumerate(telegram_ids):
            update_id = first_id + turn * len(telegram_ids) + index
            sender = {
                "id": telegram_id,
                "is_bot": False,
                "first_name": ScaleDatabase.first_name(telegram_id),
                "language_code": "en",
            }
            message: dict[str, Any] = {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": telegram_id, "type": "private", "first_name": sender["first_name"]},
                "from": sender,
                "text": text,
            }
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
            updates.append(Update.model_validate({"update_id": update_id, "message": message}))
    return updates


class GcClock:
    """Seconds spent in garbage collection, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


async def feed(dispatcher: Dispatcher, bot: Bot, updates: list[Update], *, concurrency: int, gc_clock: GcClock) -> dict:
    """Handle ``updates``, ``concurrency`` at a time; CPU and GC µs per update. Each update
    must get one reply that is not the errors router's or the throttle's."""
    sent = bot.session.sent  # type: ignore[attr-defined]
    sent.clear()
    cpu_before, gc_before = time.process_time(), gc_clock.seconds
    for start in range(0, len(updates), concurrency):
        results = await asyncio.gather(
            *(dispatcher.feed_update(bot, update) for update in updates[start : start + concurrency]),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} updates failed, the first: {failed[0]!r}")
    count = len(updates)
    cpu_us = (time.process_time() - cpu_before) / count * 1e6
    failures = [text for text in sent if text.strip() in FAILURE_TEXTS]
    if len(sent) != count or failures:
        raise RuntimeError(f"{count} updates got {len(sent)} replies, {len(failures)} of them failures: {failures[:1]}")
    return {
        "cpu_us": cpu_us,
        "gc_us": (gc_clock.seconds - gc_before) / count * 1e6,
    }


async def one_round(db: ScaleDatabase, args, *, telegram_ids: list[int], texts: list[str], gc_clock: GcClock) -> dict:
    with psycopg.connect(db.url, autocommit=True) as conn:  # every creator's first message marks them seen again
        conn.execute("UPDATE users SET last_seen_at = NULL")
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        {
            "DATABASE_URL": db.url,
            "REDIS_URL": args.redis_url,
            "REDIS_NAMESPACE": namespace,
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
            "BOT_THROTTLE_LIMIT": "0",  # the bot, not the throttle
            "LOG_LEVEL": "WARNING",
        }
    )
    base_id = 1 + len(texts) * len(telegram_ids)
    # the echo bot runs on Python's collector settings, as its process does (a freeze and the
    # thresholds are for the whole process: a previous round's are undone here)
    gc.unfreeze()
    gc.set_threshold(*PYTHON_GC_THRESHOLDS)
    try:
        echo_bot = Bot(SANDBOX_TOKEN, session=EchoSession())
        echo = await feed(
            build_echo_dispatcher(),
            echo_bot,
            build_updates(telegram_ids, texts, first_id=1),
            concurrency=args.concurrency,
            gc_clock=gc_clock,
        )
        async with open_bot_runtime(settings, bot=Bot(SANDBOX_TOKEN, session=ZenithSession())) as runtime:
            await _until_listening(runtime)
            if args.heap == "settled":
                settle_heap()  # as `zenith bot` does once it is ready
            cold = await feed(
                runtime.dispatcher,
                runtime.bot,
                build_updates(telegram_ids, texts, first_id=base_id),
                concurrency=args.concurrency,
                gc_clock=gc_clock,
            )
            warm = await feed(
                runtime.dispatcher,
                runtime.bot,
                build_updates(telegram_ids, texts, first_id=2 * base_id),
                concurrency=args.concurrency,
                gc_clock=gc_clock,
            )
    finally:
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)
        client.close()
    return {"echo": echo, "cold": cold, "warm": warm}


async def _until_listening(runtime) -> None:
    """Until the kept users rows are served (they are only while changes are listened to)."""
    rows = runtime.services.user_rows
    for _ in range(500):
        if rows is None or rows.listening:
            return
        await asyncio.sleep(0.01)
    raise SystemExit("the users rows never started listening for changes")


def line(label: str, figures: dict, echo_us: float) -> str:
    return (
        f"{label:12s} {figures['cpu_us']:8.1f} us CPU/update, GC {figures['gc_us']:6.1f} us "
        f"({figures['gc_us'] / figures['cpu_us'] * 100:4.1f} %), {figures['cpu_us'] / echo_us:5.2f}x the echo bot"
    )


async def measure(db: ScaleDatabase, args) -> None:
    texts = [t for t in args.texts.split(",") if t]
    telegram_ids = pick_users(db, count=args.users, skip=0)
    gc_clock = GcClock()
    rounds = []
    for index in range(args.rounds):
        result = await one_round(db, args, telegram_ids=telegram_ids, texts=texts, gc_clock=gc_clock)
        rounds.append(result)
        echo_us = result["echo"]["cpu_us"]
        print(f"round {index + 1} ({len(telegram_ids) * len(texts)} updates each, load {load_average()}):")
        for label in ("echo", "cold", "warm"):
            print(
                "  "
                + line(
                    {"echo": "echo bot", "cold": "zenith cold", "warm": "zenith warm"}[label], result[label], echo_us
                )
            )
    medians = {
        label: {key: statistics.median(r[label][key] for r in rounds) for key in ("cpu_us", "gc_us")}
        for label in ("echo", "cold", "warm")
    }
    print(f"RESULT median of {args.rounds} rounds, heap {args.heap}, {args.concurrency} at a time:")
    for label, name in (("echo", "echo bot"), ("cold", "zenith cold"), ("warm", "zenith warm")):
        print("  " + line(name, medians[label], medians["echo"]["cpu_us"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--texts", default="/help,/balance,/help", help="what each creator sends, in turn")
    parser.add_argument("--concurrency", type=int, default=30, help="updates handled at once (the bot's default)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--heap", choices=("settled", "default"), default="settled")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    with scale_database(users=args.users + 300, videos=max(5_000, args.users + 300), snapshots_per_video=1) as db:
        uvloop.run(measure(db, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
