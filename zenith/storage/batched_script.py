"""A Redis Lua script whose calls made in the same turn of the event loop go to Redis as one pipeline.

Every update the bot handles calls a script or two (the update's claim, a cache read), and
the updates of one ``getUpdates`` answer or one burst of webhook requests reach those calls
in the same turn of the loop. One round trip costs the process far more CPU than a command
inside a pipeline (``benchmarks/round_trip_cost.py``: about 200 against 25 µs here), so the
calls are queued and sent together at the end of the turn (`zenith.storage.turn_batch`).
Each caller still gets its own result or its own error, exactly as from ``Script.__call__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from zenith.storage.turn_batch import TurnBatch

_Args = tuple[list[Any], list[Any]]  # keys, args


class BatchedScript(TurnBatch[_Args]):
    """``client.register_script(source)`` with the same call, ``await script(keys=[...], args=[...])``.

    Parameters:
      client: an async Redis client.
      source: the Lua source.
    """

    def __init__(self, client: Redis, source: str) -> None:
        super().__init__()
        self.client = client
        self._script = client.register_script(source)

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        return await self.call((list(keys), list(args)))

    async def run_batch(self, items: Sequence[_Args]) -> list[Any]:
        if len(items) == 1:  # alone: the script's own call (it loads the script when Redis lost it)
            keys, args = items[0]
            return [await self._script(keys=keys, args=args)]
        return await self._pipelined(items)

    async def _pipelined(self, calls: Sequence[_Args]) -> list[Any]:
        results = await self._execute(calls)
        missing = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:  # Redis restarted or its scripts were flushed: nothing of these ran, so run them again
            await self.client.script_load(self._script.script)
            for index, result in zip(missing, await self._execute([calls[i] for i in missing]), strict=True):
                results[index] = result
        return results

    async def _execute(self, calls: Sequence[_Args]) -> list[Any]:
        async with self.client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))
