"""Calls made in the same turn of the event loop, run together as one batch.

The updates of one ``getUpdates`` answer or one burst of webhook requests reach the same
call (a Redis script, a creator's first read) in the same turn of the loop. One round trip
costs the process far more CPU than one more item in a batch (``benchmarks/round_trip_cost.py``),
so the calls are queued and run together at the end of the turn. Each caller still gets
its own result or its own error; nothing runs before the call is made, so what a call
reads is what it would have read alone.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")

# a burst larger than this goes as several batches: one huge answer would hold the loop
MAX_BATCH = 256


@dataclass(frozen=True)
class _Call(Generic[Item]):
    item: Item
    future: asyncio.Future[Any]


class TurnBatch(Generic[Item]):
    """``await batch.call(item)``: the items of one loop turn go to `run_batch` together.

    Subclasses implement `run_batch`, which returns one result per item in order, an
    exception in place of a result failing that item alone; an exception it raises
    fails every item of the batch.
    """

    def __init__(self) -> None:
        self._pending: list[_Call[Item]] = []
        self._flush_scheduled = False
        self._running: set[asyncio.Task[None]] = set()  # held: a task nobody references may be collected

    async def call(self, item: Item) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(_Call(item, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    @abstractmethod
    async def run_batch(self, items: Sequence[Item]) -> Sequence[Any]:
        """One result (or exception) per item, in order."""

    def _flush(self) -> None:
        self._flush_scheduled = False
        calls = [call for call in self._pending if not call.future.done()]  # a cancelled caller is not run
        self._pending = []
        for start in range(0, len(calls), MAX_BATCH):
            task = asyncio.get_running_loop().create_task(self._run(calls[start : start + MAX_BATCH]))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, calls: list[_Call[Item]]) -> None:
        try:
            results = await self.run_batch([call.item for call in calls])
        except asyncio.CancelledError:
            for call in calls:
                call.future.cancel()
            raise
        except Exception as exc:  # the connection or the batch failed: every caller hears it
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(exc)
            return
        for call, result in zip(calls, results, strict=True):
            if call.future.done():
                continue
            if isinstance(result, Exception):
                call.future.set_exception(result)
            else:
                call.future.set_result(result)
