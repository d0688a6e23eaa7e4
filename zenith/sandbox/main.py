"""``zenith sandbox``: serve the local Bot API until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from zenith.config import get_settings
from zenith.sandbox.runner import SandboxStartError, start_sandbox


async def serve_sandbox(*, host: str, port: int, state_dir: Path | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        sandbox = await start_sandbox(host, port, state_dir=state_dir).start()
    except SandboxStartError as exc:
        print(f"zenith sandbox: {exc}", flush=True)
        return 1
    try:
        print(f"Telegram Bot API sandbox at {sandbox.url}", flush=True)
        print(f"  TELEGRAM_API_URL={sandbox.url}", flush=True)
        print(f"  token: {sandbox.token}", flush=True)
        print(f"  control API: {sandbox.url}/sandbox/info", flush=True)
        await stop.wait()
    finally:
        await sandbox.stop()
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve on 127.0.0.1:SANDBOX_PORT; exit 0 on SIGINT/SIGTERM, 1 if it cannot listen.

    The next update id is kept in DATA_DIR/sandbox/next_update_id."""
    from zenith.telemetry.logs import setup_logging

    settings = get_settings()
    setup_logging(settings, role="sandbox")
    # update ids keep increasing across restarts: a bot polling through one keeps its offset
    return asyncio.run(
        serve_sandbox(host="127.0.0.1", port=settings.sandbox_port, state_dir=Path(settings.data_dir) / "sandbox")
    )
