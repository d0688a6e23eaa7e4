"""CLIENT spans for the HTTP calls that bypass aiohttp (the Bot API calls over
``zenith.platforms.keepalive_http``), shaped as aiohttp's instrumentation shapes its own:
named by the method, with ``http.method``, ``http.url`` (``span_url``: no token, no
query string) and ``http.status_code``, an ERROR status for a 4xx/5xx answer or a failed
exchange. So a trace still ends in "POST …/bot***/sendMessage" whichever client sent it.

Unlike the instrumentation, no ``traceparent`` header is sent: the Bot API ignores it.
"""

from __future__ import annotations

from types import TracebackType

from opentelemetry.instrumentation.utils import http_status_to_status_code, is_http_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from zenith.telemetry import tracing

TRACER_NAME = "zenith.http"


class ClientCall:
    """One HTTP call's span; ``with`` it around the exchange, tell it the status with ``answered``."""

    def __init__(self, span: Span | None) -> None:
        self.span = span

    def answered(self, status: int) -> None:
        if self.span is not None:
            self.span.set_attribute("http.status_code", status)
            code = http_status_to_status_code(status, server_span=False)
            if code is StatusCode.ERROR:
                self.span.set_status(Status(code))

    def __enter__(self) -> ClientCall:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.span is None:
            return
        if error is not None:
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
        self.span.end()


_UNTRACED = ClientCall(None)


def client_call(method: str, url: str) -> ClientCall:
    """The span of a ``method`` call to ``url``; a no-op one when tracing is off or suppressed here."""
    if not tracing.http_client_spans_enabled() or not is_http_instrumentation_enabled():
        return _UNTRACED
    span = tracing.tracer(TRACER_NAME).start_span(
        method, kind=SpanKind.CLIENT, attributes={"http.method": method, "http.url": tracing.span_url(url)}
    )
    return ClientCall(span)
