"""A Redis Lua script whose calls made in the same turn of the event loop go to Redis as one pipeline.

Every update the bot handles calls a script or two (the update's claim, a cache read), and
the updates of one ``getUpdates`` answer or one burst of webhook requests reach those calls
in the same turn of the loop. One round trip costs the process far more CPU than a command
inside a pipeline (``benchmarks/round_trip_cost.py``: about 200 against 25 µs here), so the
calls are queued and sent together at the end of the turn. Each caller still gets its own
result or its own error, exactly as from ``Script.__call__``; nothing is sent before the
call is made, so what a call claims or reads is what it would have claimed or read alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

# a burst larger than this goes as several pipelines: one huge reply would hold the loop
MAX_BATCH = 256


@dataclass(frozen=True)
class _Call:
    keys: Sequence[Any]
    args: Sequence[Any]
    future: asyncio.Future[Any]


class BatchedScript:
    """``client.register_script(source)`` with the same call, ``await script(keys=[...], args=[...])``.

    Parameters:
      client: an async Redis client.
      source: the Lua source.
    """

    def __init__(self, client: Redis, source: str) -> None:
        self.client = client
        self._script = client.register_script(source)
        self._pending: list[_Call] = []
        self._flush_scheduled = False
        self._sending: set[asyncio.Task[None]] = set()  # held: a task nobody references may be collected

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(_Call(list(keys), list(args), future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        calls = [call for call in self._pending if not call.future.done()]  # a cancelled caller is not sent
        self._pending = []
        for start in range(0, len(calls), MAX_BATCH):
            task = asyncio.get_running_loop().create_task(self._send(calls[start : start + MAX_BATCH]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            if len(calls) == 1:  # alone: the script's own call (it loads the script when Redis lost it)
                results: list[Any] = [await self._script(keys=calls[0].keys, args=calls[0].args)]
            else:
                results = await self._pipelined(calls)
        except asyncio.CancelledError:
            for call in calls:
                call.future.cancel()
            raise
        except Exception as exc:  # the connection or the pipeline failed: every caller hears it
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

    async def _pipelined(self, calls: list[_Call]) -> list[Any]:
        results = await self._execute(calls)
        missing = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:  # Redis restarted or its scripts were flushed: nothing of these ran, so run them again
            await self.client.script_load(self._script.script)
            for index, result in zip(missing, await self._execute([calls[i] for i in missing]), strict=True):
                results[index] = result
        return results

    async def _execute(self, calls: list[_Call]) -> list[Any]:
        async with self.client.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.evalsha(self._script.sha, len(call.keys), *call.keys, *call.args)
            return list(await pipe.execute(raise_on_error=False))
