"""Telegram-like flood limits and scripted faults, switchable at run time.

Both are off by default so tests run fast; a test turns them on to check that the bot
honours ``retry_after`` and survives server errors and dropped connections.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from zenith.sandbox.errors import too_many_requests

FAULT_KINDS = ("429", "500", "502", "drop", "drop_after", "delay")


class RateLimiter:
    """Sliding one-second windows per chat and overall.

    Parameters:
      per_chat: sends allowed to one chat per second (Telegram: about 1; ``None`` off).
      overall: sends allowed per second in total (Telegram: about 30; ``None`` off).
      retry_after: seconds to put in 429 answers; default: until the window frees up.
    """

    def __init__(self) -> None:
        self.per_chat: int | None = None
        self.overall: int | None = None
        self.retry_after: int | None = None
        self._chat_sends: dict[int, deque[float]] = {}
        self._all_sends: deque[float] = deque()

    def configure(
        self, *, per_chat: int | None = None, overall: int | None = None, retry_after: int | None = None
    ) -> None:
        self.per_chat, self.overall, self.retry_after = per_chat, overall, retry_after
        self._chat_sends.clear()
        self._all_sends.clear()

    @property
    def enabled(self) -> bool:
        return self.per_chat is not None or self.overall is not None

    def check(self, chat_id: int) -> None:
        """Count one send to ``chat_id`` or raise 429 if it goes over a limit."""
        if not self.enabled:
            return
        now = time.monotonic()
        chat = self._chat_sends.setdefault(chat_id, deque())
        for window, limit in ((chat, self.per_chat), (self._all_sends, self.overall)):
            while window and now - window[0] >= 1.0:
                window.popleft()
            if limit is not None and len(window) >= limit:
                wait = self.retry_after or max(1, math.ceil(1.0 - (now - window[0])))
                raise too_many_requests(wait)
        chat.append(now)
        self._all_sends.append(now)


@dataclass
class Fault:
    """One scripted failure: ``kind`` is one of FAULT_KINDS.

    "429" answers Too Many Requests with ``retry_after``; "500"/"502" answer a server
    error; "drop" closes the connection without doing anything; "drop_after" performs the
    call and then closes the connection (the client cannot know it succeeded); "delay"
    waits ``delay`` seconds before performing the call.
    """

    method: str
    kind: str
    retry_after: int = 1
    delay: float = 0.0


class FaultPlan:
    """Queued faults, consumed first-in first-out per method (method names are
    case-insensitive, as on Telegram; "*" matches any method)."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []

    def fail_next(
        self, method: str, *, times: int = 1, kind: str = "500", retry_after: int = 1, delay: float = 0.0
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be >= 1")
        for _ in range(times):
            self._queue.append(Fault(method=method.lower(), kind=kind, retry_after=retry_after, delay=delay))

    def take(self, method: str) -> Fault | None:
        name = method.lower()
        for index, fault in enumerate(self._queue):
            if fault.method in (name, "*"):
                return self._queue.pop(index)
        return None

    def clear(self) -> None:
        self._queue.clear()

    def pending(self) -> int:
        return len(self._queue)
