"""Publishing outbox notices after the commit that staged them (bot and actors alike).

A process stages a notice with ``zenith.storage.outbox.add`` inside the transaction of
the change it reports, and after the commit calls ``publish``: the ``notify`` message is
enqueued and the row stamped enqueued (the notifications actor confirms it sent after
Telegram answered). If that fails (or the process dies first, or the broker loses the
message) the row stays unconfirmed and the clock relays it; the row's dedup key makes
the sends one.
"""

from __future__ import annotations

import inspect
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Callable, Iterable

import psycopg

from zenith.messaging.contract import NOTIFY
from zenith.storage import outbox

logger = logging.getLogger(__name__)


def notify_args(entry: outbox.OutboxEntry) -> tuple[Any, ...]:
    """The arguments of the ``notify`` message that delivers ``entry``."""
    return (entry.user_id, entry.key, entry.params, entry.dedup_key, None)


def notify_sender(send: Callable[..., Any]) -> Callable[[outbox.OutboxEntry], Any]:
    """``publish``'s ``send`` from a message sender ``send(route, *args)`` (``BotServices.send``)."""
    return lambda entry: send(NOTIFY, *notify_args(entry))


async def publish(
    entries: Iterable[outbox.OutboxEntry | None],
    *,
    send: Callable[[outbox.OutboxEntry], Any],
    connect: Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection]],
    flush: Callable[[], Any] | None = None,
) -> int:
    """After the commit: enqueue ``notify`` for each staged notice and stamp it enqueued; returns how many went out.

    Parameters:
      entries: rows from ``outbox.add`` (None, a replay's, is skipped).
      send: enqueues the ``notify`` message of one entry; a coroutine it returns is
        awaited. The bot passes ``notify_sender(services.send)``.
      connect: an async context manager giving an autocommit connection (``BotServices.read``).
      flush: when ``send`` only queues the messages (``messaging.batch_enqueue``), sends
        them all; if it fails, none counts as sent.

    Best effort: a failed enqueue or stamp is logged and left to the clock's relay, so
    the decision already committed is not reported as failed.
    """
    sent: list[int] = []
    for entry in entries:
        if entry is None:
            continue
        try:
            sent_message = send(entry)
            if inspect.isawaitable(sent_message):
                await sent_message
        except Exception:
            logger.warning("notice %s not enqueued; the clock relays it", entry.dedup_key, exc_info=True)
            continue
        sent.append(entry.id)
    if sent and flush is not None:
        try:
            flush()
        except Exception:
            logger.warning("%d notices not enqueued; the clock relays them", len(sent), exc_info=True)
            return 0
    if sent:
        try:
            async with connect() as conn:
                await outbox.mark_enqueued(conn, ids=sent)
        except Exception:  # the relay sends them again; the dedup key absorbs it
            logger.warning("outbox rows %s not stamped enqueued", sent, exc_info=True)
    return len(sent)
