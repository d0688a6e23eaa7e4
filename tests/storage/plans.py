"""The plans PostgreSQL really executed for a repository call, via ``auto_explain``.

``auto_explain`` with ``log_analyze`` sends every statement's executed plan (JSON, with
actual row counts) as a LOG notice when ``client_min_messages = log``; the notices are
collected here, so a test can check the statements a repository function ran.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import psycopg

# the nodes that read rows of a table itself (an Index Only Scan reads only the index)
HEAP_READS = ("Seq Scan", "Index Scan", "Bitmap Heap Scan", "Tid Scan")


@dataclass
class PlanNode:
    kind: str
    relation: str | None
    index: str | None
    actual_rows: int  # rows the node returned, summed over its loops
    filtered_out: int = 0  # rows the node read and its filter dropped, summed over its loops


@dataclass
class CapturedPlans:
    plans: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        text = diagnostic.message_primary or ""
        start = text.find("{")
        if "plan:" in text and start >= 0:
            self.plans.append(json.loads(text[start:]))

    def nodes(self) -> list[PlanNode]:
        """Every node of every captured plan."""
        found: list[PlanNode] = []

        def walk(node: dict[str, Any]) -> None:
            loops = int(node.get("Actual Loops", 1))
            rows = int(node.get("Actual Rows", 0)) * loops
            dropped = int(node.get("Rows Removed by Filter", 0)) * loops
            found.append(PlanNode(node["Node Type"], node.get("Relation Name"), node.get("Index Name"), rows, dropped))
            for child in node.get("Plans", []):
                walk(child)

        for plan in self.plans:
            walk(plan["Plan"])
        return found

    def seq_scans(self) -> list[PlanNode]:
        return [node for node in self.nodes() if node.kind == "Seq Scan"]

    def indexes(self) -> set[str]:
        return {node.index for node in self.nodes() if node.index}

    def table_rows_read(self, relation: str) -> int:
        """Rows taken from ``relation``'s table (not from an index alone)."""
        return sum(node.actual_rows for node in self.nodes() if node.relation == relation and node.kind in HEAP_READS)

    def rows_read(self, relation: str) -> int:
        """Rows taken from ``relation`` by any scan, table or index."""
        return sum(node.actual_rows for node in self.nodes() if node.relation == relation and "Scan" in node.kind)

    def rows_examined(self, relation: str) -> int:
        """``rows_read`` plus the rows a scan's filter dropped: what the scan really went through."""
        return sum(
            node.actual_rows + node.filtered_out
            for node in self.nodes()
            if node.relation == relation and "Scan" in node.kind
        )


@asynccontextmanager
async def executed_plans(conn: psycopg.AsyncConnection) -> AsyncIterator[CapturedPlans]:
    """Collect the executed plans of the statements run on ``conn`` inside the block."""
    captured = CapturedPlans()
    for setting in (
        "LOAD 'auto_explain'",
        "SET auto_explain.log_min_duration = 0",
        "SET auto_explain.log_analyze = on",
        "SET auto_explain.log_format = json",
        "SET auto_explain.log_nested_statements = on",
        "SET client_min_messages = log",
    ):
        await conn.execute(setting)
    conn.add_notice_handler(captured)
    try:
        yield captured
    finally:
        conn.remove_notice_handler(captured)
        await conn.execute("SET client_min_messages = notice")
        await conn.execute("SET auto_explain.log_min_duration = -1")
