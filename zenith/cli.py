"""The `zenith` command.

Each subcommand names the function that runs it as "module:function"; the module is
imported only when that subcommand runs, so `zenith migrate` does not load aiogram and
a worker does not load the bot. A handler takes the parsed arguments and returns an
exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, Sequence

from zenith.config import ConfigError


def _add_up(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")


def _add_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queues", "-Q", nargs="*", default=None, help="queues to consume (default: all)")
    p.add_argument("--processes", "-p", type=int, default=1, help="worker processes")
    p.add_argument("--threads", "-t", type=int, default=4, help="threads per process")


def _add_ledger(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="ledger_command", required=True)
    sub.add_parser("check", help="prove the books balance; exit 1 on any discrepancy")


def _add_apikey(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="apikey_command", required=True)
    create = sub.add_parser("create", help="make a key; its secret is printed once")
    create.add_argument("--name", required=True, help="who or what uses the key (1-100 characters)")
    create.add_argument("--scope", required=True, choices=("read", "submit", "admin"), help="read < submit < admin")
    create.add_argument(
        "--rate-limit", type=int, default=None, help="requests a minute (default: API_RATE_LIMIT_PER_MINUTE)"
    )
    listing = sub.add_parser("list", help="every key with its scope, limit and state (never the secret)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    revoke = sub.add_parser("revoke", help="stop a key at once")
    revoke.add_argument("key_id", help="the key's public id (the 8 characters after zk_)")


def _add_status(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_trace(p: argparse.ArgumentParser) -> None:
    p.add_argument("video_id", type=int)


def _add_chat(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user-id", type=int, default=1000001, help="Telegram user id to chat as")
    p.add_argument("--name", default="Developer", help="first name of that user")
    p.add_argument("--language", default="ru", help="Telegram language_code of that user")


def _add_supervise(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pools", nargs="*", default=None, help="pools to run (default: those of the worker dyno)")


def _add_nothing(p: argparse.ArgumentParser) -> None:
    return None


# name: (handler "module:function", help, argument builder)
COMMANDS: dict[str, tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = {
    "up": ("zenith.supervisor.up:run_up", "migrate, then run everything in one process tree", _add_up),
    "supervise": ("zenith.supervisor.main:run_supervise", "run and watch the worker pools", _add_supervise),
    "worker": ("zenith.actors.worker:run_worker", "run Dramatiq worker processes", _add_worker),
    "clock": ("zenith.actors.clock:run_clock", "periodic re-checks, rates, reconciliation", _add_nothing),
    "bot": ("zenith.bot.main:run_bot", "run the Telegram bot (polling or webhook)", _add_nothing),
    "web": ("zenith.web.main:run_web", "run the web process (webhook, API, health, metrics)", _add_nothing),
    "migrate": ("zenith.storage.migrate:run_migrate", "apply SQL migrations", _add_nothing),
    "ledger": ("zenith.storage.ledger_check:run_ledger", "ledger tools", _add_ledger),
    "apikey": ("zenith.web.api.key_command:run_apikey", "create, list and revoke HTTP API keys", _add_apikey),
    "status": ("zenith.supervisor.status:run_status", "show pools, processes and queues", _add_status),
    "trace": ("zenith.telemetry.trace_command:run_trace", "print a video's trace ids and Jaeger links", _add_trace),
    "sandbox": ("zenith.sandbox.main:run_sandbox", "run the local Telegram Bot API sandbox", _add_nothing),
    "chat": ("zenith.sandbox.chat:run_chat", "talk to the bot from this terminal (sandbox)", _add_chat),
    "settings": ("zenith.cli:run_settings", "print the table of settings", _add_nothing),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zenith", description="ZenithMedia service")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text, add_arguments) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    return parser


def run_settings(args: argparse.Namespace) -> int:
    from zenith.config import settings_table

    print(settings_table())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = COMMANDS[args.command][0]
    module_name, func_name = target.split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except ConfigError as exc:
        print(f"zenith: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
