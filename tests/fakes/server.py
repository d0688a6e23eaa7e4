"""Running a fake platform (an aiohttp app) on 127.0.0.1 at a random port.

Two ways, same result (``FakeServer`` with ``url`` and ``state``):

* ``with run_in_thread(app, state) as server:`` — its own event loop in a background
  thread; works from sync tests, async tests, and for subprocesses (they get the URL).
* ``async with serve_in_loop(app, state) as server:`` — inside the caller's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator, Generic, Iterator, TypeVar

from aiohttp import web

StateT = TypeVar("StateT")


@dataclass
class FakeServer(Generic[StateT]):
    """A running fake: ``url`` (no trailing slash), ``port`` and its controllable ``state``."""

    url: str
    port: int
    state: StateT


async def _start(app: web.Application, host: str) -> tuple[web.AppRunner, int]:
    # A short shutdown: a fake may be holding a deliberately slow answer when a test ends.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    sockets = site._server.sockets  # type: ignore[union-attr]  # the only way to learn port 0's pick
    return runner, sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def serve_in_loop(
    app: web.Application, state: StateT, *, host: str = "127.0.0.1"
) -> AsyncIterator[FakeServer[StateT]]:
    """Serve ``app`` in the running loop until the block ends."""
    runner, port = await _start(app, host)
    try:
        yield FakeServer(url=f"http://{host}:{port}", port=port, state=state)
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def run_in_thread(app: web.Application, state: StateT, *, host: str = "127.0.0.1") -> Iterator[FakeServer[StateT]]:
    """Serve ``app`` from a background thread with its own loop until the block ends."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["runner"], box["port"] = loop.run_until_complete(_start(app, host))
        except BaseException as exc:  # report start-up failure to the caller's thread
            box["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(box["runner"].cleanup())

    thread = threading.Thread(target=main, name="fake-server", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("fake server did not start within 10 s")
    if "error" in box:
        thread.join(5)
        loop.close()
        raise box["error"]
    try:
        yield FakeServer(url=f"http://{host}:{box['port']}", port=box["port"], state=state)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
