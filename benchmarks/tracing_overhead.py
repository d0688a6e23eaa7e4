"""Cost of tracing: trivial messages in-process, or the real parsing pipeline, tracing off vs on.

    .venv/bin/python benchmarks/tracing_overhead.py [--messages 2000] [--threads 4] [--redis-url redis://127.0.0.1:6379/0]
    PYTHONPATH=. .venv/bin/python benchmarks/tracing_overhead.py --pipeline [--youtube 1500] [--tiktok 0] [--threads 4] [--rounds 3]
        [--modes off on sampled] [--sample-ratio 0.1] [--census]

Default: no-op messages through an in-process Dramatiq worker. ``--pipeline``: the real
thing, as benchmarks/parsing_throughput.py runs it (a `zenith worker --queues parsing`
process, PostgreSQL, the fake YouTube/TikTok answering after 50 ms, a clock tick sending
the batches), once with the worker's OTEL_EXPORTER_OTLP_ENDPOINT unset and once pointing
at the local sink -- every span of the worker exported: consumer spans, one "check video"
span per video, and the psycopg, Redis and aiohttp-client spans outside the videos' stages.

"on" exports through a BatchSpanProcessor over OTLP/HTTP to a local receiver that
accepts and discards the requests, so serialisation and export are included. Each run
uses its own Redis namespace and deletes its keys afterwards.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from zenith.config import load_settings
from zenith.telemetry.dramatiq_middleware import install_telemetry_middleware
from zenith.telemetry.tracing import setup_tracing, shutdown_tracing


class _Sink(BaseHTTPRequestHandler):
    received = 0
    census: Counter | None = None  # span name -> count, when --census asks for it
    spans = 0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received += 1
        if type(self).census is not None:
            type(self)._count(self.headers.get("Content-Type", ""), body)
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        return None

    @classmethod
    def _count(cls, content_type: str, body: bytes) -> None:
        from tests.telemetry.otlp_bodies import parse_request

        request = parse_request(content_type, body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    cls.spans += 1
                    cls.census[span.name[:90]] += 1


def run(*, messages: int, threads: int, redis_url: str, traced: bool, endpoint: str) -> tuple[float, float]:
    """Enqueue ``messages`` no-op messages, then process them; return (sent/s, processed/s)."""
    if traced:
        setup_tracing(
            load_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}), role="benchmark", instrument_libraries=False
        )
    namespace = f"bench-{uuid.uuid4().hex[:10]}"
    broker = RedisBroker(url=redis_url, namespace=namespace)
    install_telemetry_middleware(broker, metrics=False)
    remaining = threading.Semaphore(0)

    def noop(i):
        remaining.release()

    actor = dramatiq.actor(noop, broker=broker, queue_name="bench", actor_name="noop")
    send_started = time.perf_counter()
    for i in range(messages):
        actor.send(i)
    send_rate = messages / (time.perf_counter() - send_started)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    started = time.perf_counter()
    worker.start()
    for _ in range(messages):
        remaining.acquire()
    elapsed = time.perf_counter() - started
    worker.stop()
    for key in broker.client.scan_iter(match=f"{namespace}:*"):
        broker.client.delete(key)
    broker.close()
    shutdown_tracing()
    return send_rate, messages / elapsed


def run_pipeline(args, *, endpoint: str) -> None:
    """parsing_throughput's run, interleaved with the worker's tracing off and on."""
    import asyncio
    import os

    from benchmarks import parsing_throughput

    for round_index in range(args.rounds):
        for mode in args.modes:
            os.environ.pop("OTEL_TRACES_SAMPLER", None)
            os.environ.pop("OTEL_TRACES_SAMPLER_ARG", None)
            if mode == "off":
                os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
            else:
                os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint  # the worker inherits it
            if mode == "sampled":  # each batch message is a trace root in the worker: kept with this probability
                os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
                os.environ["OTEL_TRACES_SAMPLER_ARG"] = str(args.sample_ratio)
            before = _Sink.received
            print(
                f"-- round {round_index + 1}, worker tracing {mode}"
                + (f" ({args.sample_ratio})" if mode == "sampled" else "")
                + f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                flush=True,
            )
            asyncio.run(
                parsing_throughput.run(
                    argparse.Namespace(
                        youtube=args.youtube,
                        tiktok=args.tiktok,
                        threads=args.threads,
                        latency_ms=args.latency_ms,
                        redis_url=args.redis_url,
                        timeline=False,
                    )
                )
            )
            print(f"   OTLP export requests: {_Sink.received - before}", flush=True)
            if _Sink.census:
                print(
                    f"   spans exported: {_Sink.spans} ({_Sink.spans / (args.youtube + args.tiktok):.1f} per video)",
                    flush=True,
                )
                for name, count in _Sink.census.most_common():
                    print(f"     {count:7d}  {name}", flush=True)
                _Sink.census.clear()
                _Sink.spans = 0
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"):
        os.environ.pop(name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--pipeline", action="store_true", help="measure the real parsing pipeline instead of no-op messages"
    )
    parser.add_argument("--youtube", type=int, default=1500, help="--pipeline: YouTube videos per run")
    parser.add_argument("--tiktok", type=int, default=0, help="--pipeline: TikTok videos per run")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["off", "on"],
        choices=["off", "on", "sampled"],
        help="--pipeline: worker tracing modes per round, in order (sampled: parentbased_traceidratio)",
    )
    parser.add_argument(
        "--sample-ratio", type=float, default=0.1, help="--pipeline: OTEL_TRACES_SAMPLER_ARG of the sampled mode"
    )
    parser.add_argument("--latency-ms", type=int, default=50, help="--pipeline: fake platforms' answer delay")
    parser.add_argument(
        "--census", action="store_true", help="--pipeline: decode the exported spans and count them by name"
    )
    args = parser.parse_args()
    if args.census:
        _Sink.census = Counter()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    if args.pipeline:
        run_pipeline(args, endpoint=endpoint)
        sink.shutdown()
        return
    results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for _ in range(args.rounds):  # interleaved, so load drift hits both alike
        for mode in ("off", "on"):
            results[mode].append(
                run(
                    messages=args.messages,
                    threads=args.threads,
                    redis_url=args.redis_url,
                    traced=mode == "on",
                    endpoint=endpoint,
                )
            )
    sink.shutdown()
    print(f"{args.messages} messages x {args.rounds} rounds, {args.threads} worker threads, Redis {args.redis_url}")
    best = {}
    for mode, pairs in results.items():
        sends, processed = [p[0] for p in pairs], [p[1] for p in pairs]
        best[mode] = (max(sends), max(processed))
        print(
            f"tracing {mode:>3}: send "
            + ", ".join(f"{r:,.0f}" for r in sends)
            + " msg/s; process "
            + ", ".join(f"{r:,.0f}" for r in processed)
            + " msg/s"
        )
    for index, what in enumerate(("send", "process")):
        print(f"{what} overhead (best vs best): {(1 - best['on'][index] / best['off'][index]) * 100:.1f} %")
    print(f"OTLP requests received: {_Sink.received}")


if __name__ == "__main__":
    main()
