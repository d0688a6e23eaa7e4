"""CPU to adapt a multi-row statement's array parameters: psycopg's text, automatic and binary formats.

    .venv/bin/python benchmarks/array_params_cost.py [--rows 50] [--repeat 2000] [--rounds 3]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

The parsing worker writes a batch's checks with statements such as ``videos.update_stats_many``:
one array per column (``unnest(%b::bigint[], ...)``), one element per video. psycopg turns
each array into a parameter before sending it: in the text format an element at a time in
Python, quoting and escaping each; in the binary format through the elements' C dumpers.
This adapts the parameters of that statement (8 columns: ids, views, likes, comments, next
check times, credited amounts, titles, flags) for ``--rows`` videos, ``--repeat`` times per
format and round, and prints the CPU µs per statement of each format, then a ``RESULT``
line with the ratios. A connection is needed only for psycopg's type registry.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone
from decimal import Decimal

import psycopg
from psycopg._transformer import Transformer
from psycopg.adapt import PyFormat

FORMATS = {"text": PyFormat.TEXT, "auto": PyFormat.AUTO, "binary": PyFormat.BINARY}


def statement_params(rows: int) -> list[list]:
    """The arrays of one ``update_stats_many`` call for ``rows`` videos."""
    now = datetime.now(timezone.utc)
    return [
        list(range(1_000_000, 1_000_000 + rows)),
        [12_345 + i for i in range(rows)],
        [100 + i for i in range(rows)],
        [7] * rows,
        [now] * rows,
        [Decimal("12.50") + i for i in range(rows)],
        [f"Video title {i}" for i in range(rows)],
        [False] * rows,
    ]


def cost(conn: psycopg.Connection, params: list[list], fmt: PyFormat, repeat: int) -> float:
    """CPU µs to adapt ``params`` once in ``fmt`` (a new transformer each time, as each execute has)."""
    formats = [fmt] * len(params)
    Transformer(conn).dump_sequence(params, formats)  # warm up the dumper caches
    started = time.process_time()
    for _ in range(repeat):
        Transformer(conn).dump_sequence(params, formats)
    return (time.process_time() - started) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50, help="videos in the statement (a batch message has 50)")
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    params = statement_params(args.rows)
    results: dict[str, list[float]] = {name: [] for name in FORMATS}
    with psycopg.connect(args.database_url) as conn:
        for round_number in range(1, args.rounds + 1):
            for name, fmt in FORMATS.items():
                results[name].append(cost(conn, params, fmt, args.repeat))
                print(f"round {round_number}: {name:6s} {results[name][-1]:8.1f} us CPU/statement", flush=True)
    median = {name: statistics.median(values) for name, values in results.items()}
    print(
        f"RESULT array params, {args.rows} rows x {len(params)} columns: text {median['text']:.1f} us, "
        f"auto {median['auto']:.1f} us, binary {median['binary']:.1f} us; "
        f"text/binary {median['text'] / median['binary']:.2f}x, auto/binary {median['auto'] / median['binary']:.2f}x"
    )


if __name__ == "__main__":
    main()
