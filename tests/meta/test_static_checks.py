"""The linter, the formatter and the type checker pass, so `./run test` (the CI command) enforces them.

Both are configured in pyproject.toml: ruff's rule set, and mypy strict on
`zenith.domain` and `zenith.storage`, strict but for untyped calls on `zenith.bot`,
normal elsewhere. They run as subprocesses of this
interpreter's environment, exactly as a developer would run them.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)


def test_ruff_finds_nothing():
    found = run(str(TOOLS / "ruff"), "check", "--no-cache", "zenith", "tests", "benchmarks")
    assert found.returncode == 0, f"ruff check found problems:\n{found.stdout}{found.stderr}"


def test_ruff_format_changes_nothing():
    found = run(str(TOOLS / "ruff"), "format", "--check", "--no-cache", "zenith", "tests", "benchmarks")
    assert found.returncode == 0, (
        f"ruff format would change files (run .venv/bin/ruff format zenith tests benchmarks):\n{found.stdout}{found.stderr}"
    )


def test_mypy_finds_nothing():
    found = run(sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert found.returncode == 0, f"mypy found problems:\n{found.stdout}{found.stderr}"


def test_mypy_is_strict_on_the_domain_storage_and_bot(tmp_path):
    # what strict mode forbids there (an unannotated function) must be found, and the
    # same code elsewhere passes: --shadow-file checks the text in place of a real module
    probe = tmp_path / "probe.py"
    probe.write_text("def untyped(value):\n    return value\n", encoding="utf-8")
    for module, strict in (
        ("zenith/storage/redis_pool.py", True),
        ("zenith/domain/verification.py", True),
        ("zenith/bot/lookup.py", True),
        ("zenith/cli.py", False),
    ):
        found = run(
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            "/dev/null",
            "--shadow-file",
            module,
            str(probe),
            module,
        )
        assert (found.returncode == 1 and "no-untyped-def" in found.stdout) is strict, (
            module,
            found.stdout + found.stderr,
        )


def test_no_module_of_zenith_is_exempt_from_mypy():
    # an override with ignore_errors (or ignore_missing_imports) on our own modules would hide
    # their errors again; only third-party modules without type information may be exempted
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    exempt = [
        module
        for override in config["tool"]["mypy"].get("overrides", [])
        if override.get("ignore_errors") or override.get("ignore_missing_imports")
        for module in ([override["module"]] if isinstance(override["module"], str) else override["module"])
        if module == "zenith" or module.startswith("zenith.")
    ]
    assert not exempt, f"zenith modules exempt from mypy: {exempt}"
