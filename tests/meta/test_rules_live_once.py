"""Rules live once: only `zenith.storage` speaks SQL, only `zenith.domain` spells a status.

Read every module of `zenith` (ast) and report:
- SQL outside `zenith/storage`: a call of ``.execute(...)`` / ``.executemany(...)`` with
  arguments (a Redis pipeline's ``execute()`` takes none), an import of the raw-SQL
  helpers ``fetch_one`` / ``fetch_all``, or a string holding an SQL statement (upper-case
  ``SELECT ... FROM``, ``SELECT 1``, ``INSERT INTO``, ``UPDATE t SET``, ``DELETE FROM``);
- a payout, video or user status spelled as a string outside `zenith/domain`: a string that
  is exactly one of the `PayoutStatus` / `VideoStatus` / `UserStatus` values. SQL text in storage mentions
  statuses inside longer strings and is not affected; docstrings are prose and skipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from zenith.domain.payouts import PayoutStatus
from zenith.domain.users import UserStatus
from zenith.domain.videos import VideoStatus

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "zenith"

SQL_STATEMENT = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bSELECT\s+\d+\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
)
SQL_CALLS = {"execute", "executemany"}
SQL_HELPERS = {"fetch_one", "fetch_all"}
STATUS_VALUES = {status.value for enum in (PayoutStatus, VideoStatus, UserStatus) for status in enum}

# (module path under zenith/, word) -> why the same word is not a payout/video/user status there
OTHER_MEANINGS = {
    ("actors/submission.py", "banned"): "a refused submission's outcome (stored and shown to partners)",
    ("supervisor/supervisor.py", "failed"): "a supervised process's state",
    ("supervisor/slot.py", "finished"): "a supervised process's state",
    ("supervisor/slot.py", "failed"): "a supervised process's (and pool's) state",
    ("telemetry/dramatiq_metrics.py", "failed"): "a Dramatiq message's outcome",
    ("web/api/key_command.py", "active"): "an API key's state in the key listing",
}


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose, not code)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.add(id(first.value))
    return found


def strings(tree: ast.AST) -> list[ast.Constant]:
    """Every string constant that is not a docstring (f-string fragments included)."""
    skip = docstrings(tree)
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def sql_violations(source: str, *, where: str) -> list[str]:
    """SQL found in ``source`` (a module outside storage), one line each."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            if node.args or node.keywords:
                found.append(f"{where}:{node.lineno}: .{node.func.attr}(...) runs SQL")
        elif isinstance(node, ast.ImportFrom) and node.module == "zenith.storage.db":
            for alias in node.names:
                if alias.name in SQL_HELPERS:
                    found.append(f"{where}:{node.lineno}: imports {alias.name}, which runs raw SQL")
    for node in strings(tree):
        if SQL_STATEMENT.search(node.value):
            found.append(f"{where}:{node.lineno}: SQL statement {node.value.strip()[:60]!r}")
    return found


def status_violations(source: str, *, where: str) -> list[str]:
    """Payout/video/user statuses spelled as strings in ``source``, one line each."""
    return [
        f"{where}:{node.lineno}: status {node.value!r} spelled as a string; use PayoutStatus / VideoStatus / UserStatus"
        for node in strings(ast.parse(source))
        if node.value in STATUS_VALUES and (where, node.value) not in OTHER_MEANINGS
    ]


def modules(*, outside: str) -> list[Path]:
    return sorted(
        path
        for path in PACKAGE_ROOT.rglob("*.py")
        if "__pycache__" not in path.parts and path.relative_to(PACKAGE_ROOT).parts[0] != outside
    )


def where(path: Path) -> str:
    return path.relative_to(PACKAGE_ROOT).as_posix()


def test_only_storage_speaks_sql():
    found = [
        line
        for path in modules(outside="storage")
        for line in sql_violations(path.read_text(encoding="utf-8"), where=where(path))
    ]
    assert not found, "SQL outside zenith/storage (add a repository function there):\n" + "\n".join(found)


def test_only_the_domain_spells_a_status():
    found = [
        line
        for path in modules(outside="domain")
        for line in status_violations(path.read_text(encoding="utf-8"), where=where(path))
    ]
    assert not found, "status literals outside zenith/domain:\n" + "\n".join(found)


def test_every_other_meaning_is_still_used():
    # a stale exception would quietly allow that status literal in that module again
    stale = [
        key
        for key in OTHER_MEANINGS
        if not any(
            node.value == key[1] for node in strings(ast.parse((PACKAGE_ROOT / key[0]).read_text(encoding="utf-8")))
        )
    ]
    assert not stale, f"no longer used, remove from OTHER_MEANINGS: {stale}"


@pytest.mark.parametrize(
    "source",
    [
        'async def f(conn):\n    await conn.execute("SELECT 1")\n',
        "def f(cur, q):\n    cur.execute(q, (1,))\n",
        "def f(cur, rows):\n    cur.executemany(query=None, params_seq=rows)\n",
        "from zenith.storage.db import fetch_one\n",
        "from zenith.storage.db import connect, fetch_all\n",
        'Q = "SELECT id FROM videos WHERE request_id = %s"\n',
        'Q = """\n    select 1;\n    INSERT INTO video_traces (video_id) VALUES (%s)\n"""\n',
        'def f(table):\n    return f"UPDATE {table} SET x = 1" + "UPDATE users SET status = %s"\n',
        'Q = "DELETE FROM notice_outbox WHERE id = %s"\n',
    ],
)
def test_sql_checker_catches_planted_sql(source):
    assert sql_violations(source, where="actors/x.py")


@pytest.mark.parametrize(
    "source",
    [
        "def f(pipe):\n    return pipe.execute()\n",  # a Redis pipeline
        '"""Rows are claimed FOR UPDATE SKIP LOCKED; SELECT them FROM the queue."""\n',  # module docstring
        'def f():\n    """conn.execute("SELECT 1") is the pool check."""\n',
        'MESSAGE = "select a language from the list, then update your settings"\n',
        "from zenith.storage.db import connect, unit_of_work\n",
        'from zenith.storage import videos\nasync def f(conn):\n    return await videos.find_by_request(conn, request_id="r")\n',
    ],
)
def test_sql_checker_has_no_false_positive(source):
    assert sql_violations(source, where="actors/x.py") == []


@pytest.mark.parametrize(
    "source",
    [
        'if payout.status == "approved":\n    pass\n',
        'STATUS_ICONS = {"pending_moderation": "x"}\n',
        'await payouts.transition(conn, payout_id=1, to_status="sending", from_statuses=("approved",))\n',
        'label = f"{1}" + "finished"\n',
        'def f():\n    """Doc."""\n    return "rejected"\n',
        'if user.status == "banned":\n    pass\n',
        'await users.count(conn, status="inactive")\n',
        'ACTIVE = "active"\n',
    ],
)
def test_status_checker_catches_planted_literals(source):
    assert status_violations(source, where="actors/x.py")


@pytest.mark.parametrize(
    "source",
    [
        '"""A payout goes requested -> approved -> "sending"."""\n',  # docstring prose
        "Q = \"SELECT * FROM payouts WHERE status = 'sending'\"\n",  # SQL text
        'KEY = f"notify.payout.{step}"\nOUTCOME = "retried"\n',
        "if payout.status == PayoutStatus.APPROVED:\n    pass\n",
        "if user.status is UserStatus.BANNED:\n    pass\n",
        "Q = \"SELECT id FROM users WHERE status = 'active'\"\n",  # SQL text
        'state = "failed" if code else "stopped"\n',  # the same word meaning something else, exempted below
    ],
)
def test_status_checker_has_no_false_positive(source):
    assert status_violations(source, where="supervisor/supervisor.py") == []


def test_an_exemption_covers_only_its_module_and_word():
    assert status_violations('state = "failed"\n', where="supervisor/supervisor.py") == []
    assert status_violations('state = "failed"\n', where="supervisor/status.py")
    assert status_violations('state = "approved"\n', where="supervisor/supervisor.py")


# Tables whose status changes follow a transition table of the domain, and the one storage
# function that may set their status: it checks every step against that table.
GUARDED_STATUS_WRITERS = {"payouts": ("storage/payouts.py", "transition")}
SETS_STATUS = re.compile(r"\bUPDATE\s+(\w+)\s+SET\b(?P<set>[\s\S]*?)(?:\bWHERE\b|\bRETURNING\b|\bFROM\b|$)", re.I)


def status_writes(source: str) -> list[tuple[str, str, int]]:
    """(table, enclosing function, line) of each ``UPDATE <table> SET ... status = ...`` in ``source``."""
    tree = ast.parse(source)
    enclosing: dict[int, str] = {}
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                enclosing[id(node)] = function.name  # ast.walk visits outer functions first: the innermost wins
    found = []
    for node in strings(tree):
        for match in SETS_STATUS.finditer(node.value):
            if re.search(r"(?<![\w.])status\s*=", match.group("set")):
                found.append((match.group(1).lower(), enclosing.get(id(node), "<module>"), node.lineno))
    return found


def bypassing_status_writes(source: str, *, where: str) -> list[str]:
    """Status changes of a guarded table made anywhere but its one transition function."""
    return [
        f"{where}:{line}: {function}() sets {table}.status; go through {GUARDED_STATUS_WRITERS[table][1]}()"
        for table, function, line in status_writes(source)
        if table in GUARDED_STATUS_WRITERS and GUARDED_STATUS_WRITERS[table] != (where, function)
    ]


def test_every_payout_status_change_goes_through_the_domain_transitions():
    found = [
        line
        for path in sorted((PACKAGE_ROOT / "storage").glob("*.py"))
        for line in bypassing_status_writes(path.read_text(encoding="utf-8"), where=where(path))
    ]
    assert not found, "status changes outside the transition function:\n" + "\n".join(found)
    # the one writer still exists and still sets the status (else this test guards nothing)
    writer_module, writer = GUARDED_STATUS_WRITERS["payouts"]
    writes = status_writes((PACKAGE_ROOT / writer_module).read_text(encoding="utf-8"))
    assert ("payouts", writer) in {(table, function) for table, function, _ in writes}


@pytest.mark.parametrize(
    "source",
    [
        "async def wait(conn):\n    await conn.execute(\"UPDATE payouts SET status = 'approved' WHERE id = %s\", (1,))\n",
        'Q = """\n  UPDATE payouts\n     SET funds_wait_since = now(), status = %(to)s\n   WHERE id = %(id)s\n"""\n',
        'async def f(conn, to):\n    await conn.execute(f"update payouts set updated_at = now(), status = {to}")\n',
    ],
)
def test_status_write_checker_catches_a_bypass(source):
    assert bypassing_status_writes(source, where="storage/payouts.py")


@pytest.mark.parametrize(
    "source",
    [
        # the transition function itself
        'async def transition(conn):\n    await conn.execute("UPDATE payouts SET status = %s WHERE id = %s", ("paid", 1))\n',
        # status only in the WHERE clause: the row is guarded by its status, not moved
        "Q = \"UPDATE payouts SET attempts = attempts + 1 WHERE id = %s AND status = 'sending' RETURNING *\"\n",
        # another table
        "Q = \"UPDATE users SET status = 'banned' WHERE id = %s\"\n",
        # a column that merely ends in status
        'Q = "UPDATE payouts SET provider_status = %s WHERE id = %s"\n',
    ],
)
def test_status_write_checker_has_no_false_positive(source):
    assert bypassing_status_writes(source, where="storage/payouts.py") == []
