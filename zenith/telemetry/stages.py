"""Spans per stage of a piece of work, not per statement.

A checked video is a handful of SQL statements and Redis commands; with the psycopg and
Redis instrumentation each would be a span of its own, about a dozen per video, and
making and exporting them cost more than a third of the parsing worker's throughput.
Under a stage's span (the parsing actor's ``video_contexts``: a video's "check video", which
carries what it credited), ``quiet_statements`` keeps the library client spans (SQL, Redis,
HTTP) out of everything it runs; our own spans under it (the per-video fallback's
``ledger.credit``, ``send`` producer spans) are still recorded, and a batched credit
notice carries the "check video" context (``dramatiq_middleware.carry_context``), so the
trace from the bot update to the credited balance stays whole.

``OTEL_ZENITH_STATEMENT_SPANS=true`` records the statements under stage spans again
(read by ``setup_tracing``), for looking into one slow stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation

from zenith.telemetry.lean_spans import start_lean_span
from zenith.telemetry.tracing import statement_spans_enabled, tracing_enabled


@contextmanager
def quiet_statements() -> Iterator[None]:
    """Library client spans (SQL, Redis, HTTP) started inside are not recorded, unless
    OTEL_ZENITH_STATEMENT_SPANS is on; our own spans are. Nothing to do while tracing is off."""
    if statement_spans_enabled() or not tracing_enabled():
        yield
    else:
        with suppress_instrumentation():
            yield


@contextmanager
def stage_span(name: str, *, attributes: dict[str, int | str | bool]) -> Iterator[None]:
    """A span of one stage of the work (the parsing actor's "store checks"), current inside,
    the statements it runs quiet (``quiet_statements``).

    A lean span (``zenith.telemetry.lean_spans``), several per batch message, made current
    by the API's ``use_span``: an exception that leaves the stage is recorded on it and sets
    its status to ERROR, as with ``start_as_current_span``.
    """
    with trace.use_span(start_lean_span(name, attributes=attributes), end_on_exit=True), quiet_statements():
        yield


class attached:  # noqa: N801 (used as a function: ``with attached(context):``)
    """Attach ``context`` inside a ``with`` block, detach it after.

    For a context built once and entered many times (the parsing actor's per-video
    contexts, built under ``quiet_statements``): the attach/detach pair alone, without a
    generator-based context manager around it.
    """

    __slots__ = ("_context", "_token")

    def __init__(self, context: otel_context.Context) -> None:
        self._context = context

    def __enter__(self) -> None:
        self._token = otel_context.attach(self._context)

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self._token)
