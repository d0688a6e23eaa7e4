"""Running a sandbox inside a test or a program.

``async with start_sandbox() as sandbox:`` serves on the current event loop;
``with start_sandbox() as sandbox:`` serves from a background thread with its own loop
(for tests whose bot runs in another process, or synchronous code). Either way
``sandbox.url`` is the base URL for ``TelegramAPIServer.from_base`` and ``sandbox.token``
the token to give the bot.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from zenith.sandbox import SANDBOX_TOKEN
from zenith.sandbox.server import build_app
from zenith.sandbox.state import SandboxState


class SandboxStartError(RuntimeError):
    """The sandbox could not start (e.g. the port is taken)."""


class ThreadedState:
    """``SandboxState`` seen from another thread: every method call runs on the
    sandbox's loop and blocks until done (``wait_for_*`` coroutines are awaited there)."""

    def __init__(self, state: SandboxState, loop: asyncio.AbstractEventLoop) -> None:
        self._state = state
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._state, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                result = attr(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result

            return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

        return call


class SandboxHandle:
    """A sandbox to start and stop; see ``start_sandbox`` for the parameters.

    Attributes after start: ``url`` ("http://host:port"), ``port``, ``token``, ``state``.
    """

    def __init__(
        self, *, host: str, port: int, token: str, webhook_retry_delay: float, state_dir: Path | None = None
    ) -> None:
        self.host = host
        self.state_dir = state_dir
        self.port = port
        self.token = token
        self.url = ""
        self._webhook_retry_delay = webhook_retry_delay
        self._state: SandboxState | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def state(self) -> Any:
        """The SandboxState (a blocking ThreadedState proxy in background-thread mode)."""
        if self._state is None:
            raise SandboxStartError("the sandbox is not running")
        if self._thread is not None and self._loop is not None:
            return ThreadedState(self._state, self._loop)
        return self._state

    async def start(self) -> "SandboxHandle":
        """Serve on the running loop."""
        self._state = SandboxState(token=self.token, state_dir=self.state_dir)
        runner = web.AppRunner(
            build_app(self._state, webhook_retry_delay=self._webhook_retry_delay), shutdown_timeout=2.0, access_log=None
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise SandboxStartError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self._runner = runner
        self.port = runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "SandboxHandle":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def __enter__(self) -> "SandboxHandle":
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="telegram-sandbox", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None


def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str = SANDBOX_TOKEN,
    webhook_retry_delay: float = 0.5,
    state_dir: Path | None = None,
) -> SandboxHandle:
    """A sandbox ready to be entered with ``async with`` (this loop) or ``with`` (a thread).

    Parameters:
      host: interface to listen on (default 127.0.0.1).
      port: TCP port; 0 (default) picks a free one, see ``handle.port`` / ``handle.url``.
      token: the bot token the sandbox accepts (default ``SANDBOX_TOKEN``).
      webhook_retry_delay: seconds between webhook delivery attempts after a failure.
      state_dir: folder keeping the next update id across restarts (default: none).
    """
    return SandboxHandle(
        host=host, port=port, token=token, webhook_retry_delay=webhook_retry_delay, state_dir=state_dir
    )
