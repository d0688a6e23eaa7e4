"""Dramatiq message counters and durations, recorded into ``ZenithMetrics``."""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name

from zenith.telemetry.metrics import ZenithMetrics


class DramatiqMetricsMiddleware(dramatiq.Middleware):
    """Counts processed messages by outcome, retries, and time spent per message.

    Outcomes: "success", "retried" (failed, another attempt is scheduled), "failed"
    (failed for good), "skipped". Must come before Retries in the broker's list (its
    after-hook then runs after Retries has decided); ``install_telemetry_middleware`` does that.

    Parameters:
      metrics(ZenithMetrics): Where to record.
    """

    def __init__(self, *, metrics: ZenithMetrics) -> None:
        self.metrics = metrics
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._local.started = (time.perf_counter(), int(message.options.get("retries", 0)))

    def _finish(self, message: MessageProxy, outcome: str | None, exception: BaseException | None) -> None:
        started = getattr(self._local, "started", None)
        self._local.started = None
        queue, actor = q_name(message.queue_name), message.actor_name
        retries_before = 0
        if started is not None:
            start_time, retries_before = started
            self.metrics.dramatiq_message_duration_seconds.labels(queue=queue, actor=actor).observe(
                time.perf_counter() - start_time
            )
        if outcome is None:
            retried = (
                exception is not None and not message.failed and int(message.options.get("retries", 0)) > retries_before
            )
            if exception is None and not message.failed:
                outcome = "success"
            elif retried:
                outcome = "retried"
                self.metrics.dramatiq_message_retries.labels(queue=queue, actor=actor).inc()
            else:
                outcome = "failed"
        self.metrics.dramatiq_messages.labels(queue=queue, actor=actor, outcome=outcome).inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._finish(message, None, exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._finish(message, "skipped", None)
