"""The users rows of creators writing to this bot process, kept in memory.

Every update needs its sender's row (language, status); reading it from PostgreSQL was
one round trip per update and about a fifth of the bot's CPU per update. Rows are kept
here and dropped the moment PostgreSQL announces a change to them
(`zenith.storage.user_changes`, a trigger on ``users``), whoever made it; a write made by
this process drops its row at once.

Only while that announcement channel is listened to is a row served: before LISTEN is in
place, and from the moment its connection is lost until it is back, every row comes
from PostgreSQL again. A row read while a change was announced is not kept, so a read
that raced a ban never outlives the ban's announcement.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from typing import Callable

from zenith.storage.user_changes import changed_telegram_ids, on_local_change
from zenith.storage.users import User

logger = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


class UserRows:
    """Users rows by Telegram id, dropped on PostgreSQL's word.

    Parameters:
      database_url: where the ``users`` changes are announced.
      max_rows: rows kept at most; the least recently used go first.
      max_age: seconds a row is served at most, a backstop for a missed announcement.
      clock: monotonic seconds (tests).
    """

    def __init__(
        self,
        database_url: str,
        *,
        max_rows: int = 100_000,
        max_age: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database_url = database_url
        self.max_rows = max_rows
        self.max_age = max_age
        self._clock = clock
        self._rows: OrderedDict[int, tuple[User, float]] = OrderedDict()
        # bumped by every drop: a row read before a drop is not kept (see `keep`)
        self._generation = 0
        self._listening = False
        self._task: asyncio.Task[None] | None = None
        self._undo_local: Callable[[], None] = lambda: None
        self._failures = 0  # connection losses in a row
        # a write made in this process may drop a row from another thread (an actor run
        # beside the bot): every read and change of the rows holds this lock
        self._lock = threading.Lock()

    @property
    def listening(self) -> bool:
        return self._listening

    @property
    def generation(self) -> int:
        """Take it before reading a row from PostgreSQL; hand it to `keep` with the row."""
        return self._generation

    def get(self, telegram_id: int) -> User | None:
        """The kept row, or None (not kept, too old, or changes are not being listened to)."""
        if not self._listening:
            return None
        with self._lock:
            entry = self._rows.get(telegram_id)
            if entry is None:
                return None
            user, kept_at = entry
            if self._clock() - kept_at > self.max_age:
                del self._rows[telegram_id]
                return None
            self._rows.move_to_end(telegram_id)
            return user

    def keep(self, user: User, *, read_at: int) -> bool:
        """Keep ``user``, read when `generation` was ``read_at``; False when not kept.

        Not kept while changes are not listened to, or when any row was dropped since the
        read began: the drop may have been this row's, announced after the read saw it.
        """
        with self._lock:
            if not self._listening or read_at != self._generation:
                return False
            self._rows[user.telegram_id] = (user, self._clock())
            self._rows.move_to_end(user.telegram_id)
            while len(self._rows) > self.max_rows:
                self._rows.popitem(last=False)
            return True

    def drop(self, telegram_id: int) -> None:
        with self._lock:
            self._generation += 1
            self._rows.pop(telegram_id, None)

    def _drop_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._rows.clear()

    # ---------------------------------------------------------------- listening

    def start(self) -> None:
        """Listen for changes in a task on the running loop (rows are served once it listens)."""
        if self._task is None:
            self._undo_local = on_local_change(self.drop)
            self._task = asyncio.create_task(self._listen(), name="user-rows-listener")

    async def close(self) -> None:
        task, self._task = self._task, None
        self._undo_local()
        self._stop_serving()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _start_serving(self) -> None:
        self._drop_all()  # rows read before LISTEN was in place may have missed their change
        self._listening = True
        if self._failures:
            logger.info("users change announcements back; user rows kept again", extra={"event": "user_rows_listened"})
        self._failures = 0

    def _stop_serving(self) -> None:
        self._listening = False
        self._drop_all()

    async def _listen(self) -> None:
        while True:
            try:
                async for telegram_id in changed_telegram_ids(self.database_url, on_listening=self._start_serving):
                    self.drop(telegram_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: stop serving rows until listening again
                self._stop_serving()
                delay = RECONNECT_DELAYS[min(self._failures, len(RECONNECT_DELAYS) - 1)]
                self._failures += 1
                logger.warning(
                    "users change announcements lost (%s); user rows read from PostgreSQL until back, retry in %.1f s",
                    type(exc).__name__,
                    delay,
                    extra={"event": "user_rows_unlistened"},
                )
                await asyncio.sleep(delay)
