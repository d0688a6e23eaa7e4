"""Imports point the way DESIGN.md says: read every module's imports (ast) and check the rules.

The rules, per top-level package of `zenith`:
- `domain` imports nothing of the project;
- `storage` imports neither `platforms`, `actors` nor `bot`;
- `platforms` imports neither `storage`, `actors` nor `bot`;
- nothing imports `bot` or `actors` except themselves, the CLI and the supervisor's
  process specs -- and the exceptions in `JUSTIFIED`.

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "zenith"

# (importing module, imported module) -> why it is allowed; see docs/bot.md
JUSTIFIED = {
    ("zenith.web.app", "zenith.bot.runtime"): "the web process runs the dispatcher in webhook mode",
    ("zenith.web.main", "zenith.bot.runtime"): "the web process runs the dispatcher in webhook mode",
    ("zenith.web.main", "zenith.bot.dispatcher"): "the web process sets the bot's command menu in webhook mode",
}

# importing package -> project packages it must not import
FORBIDDEN = {
    "storage": {"platforms", "actors", "bot"},
    "platforms": {"storage", "actors", "bot"},
}

# the only modules outside bot/actors allowed to import them
ENTRY_POINTS = {"zenith.cli", "zenith.supervisor.specs"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path) -> set[str]:
    """The `zenith...` modules `path` imports, relative imports resolved."""
    module = module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - (node.level - 1)]) if node.level else ""
            source = ".".join(part for part in (base, node.module) if part)
            if node.module is None or source == "zenith":
                # `from . import money`, `from zenith import config`: the names are modules
                found.update(f"{source}.{alias.name}" for alias in node.names)
            else:
                found.add(source)
    return {name for name in found if name.startswith("zenith.")}


def top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(module: str, imported: set[str]) -> list[str]:
    own = top_package(module)
    found = []
    for target in sorted(imported):
        other = top_package(target)
        if other == own or (module, target) in JUSTIFIED:
            continue
        if own == "domain":
            found.append(f"{module} imports {target}: domain imports nothing of the project")
        elif other in FORBIDDEN.get(own, ()):
            found.append(f"{module} imports {target}: {own} must not import {other}")
        elif other in ("bot", "actors") and module not in ENTRY_POINTS:
            found.append(f"{module} imports {target}: only the CLI and the process specs import {other}")
    return found


def all_modules() -> list[Path]:
    return sorted(path for path in PACKAGE_ROOT.rglob("*.py") if "__pycache__" not in path.parts)


def test_every_module_follows_the_dependency_rules():
    found = [line for path in all_modules() for line in violations(module_name(path), project_imports(path))]
    assert not found, "dependency rules broken:\n" + "\n".join(found)


def test_every_justified_exception_is_still_used():
    # a stale exception would quietly allow a new import of the same module
    imports = {module_name(path): project_imports(path) for path in all_modules()}
    stale = [pair for pair in JUSTIFIED if pair[1] not in imports.get(pair[0], set())]
    assert not stale, f"no longer imported, remove from JUSTIFIED: {stale}"


@pytest.mark.parametrize(
    ("module", "imported", "broken"),
    [
        ("zenith.domain.money", {"zenith.config"}, True),
        ("zenith.storage.videos", {"zenith.platforms.youtube"}, True),
        ("zenith.platforms.youtube", {"zenith.storage.db"}, True),
        ("zenith.web.health", {"zenith.bot.services"}, True),
        ("zenith.supervisor.status", {"zenith.actors.worker"}, True),
        ("zenith.supervisor.specs", {"zenith.actors.worker"}, False),
        ("zenith.web.app", {"zenith.bot.runtime"}, False),
        ("zenith.bot.main", {"zenith.storage.db", "zenith.web.main"}, False),
        ("zenith.domain.links", {"zenith.domain.money"}, False),
    ],
)
def test_the_checker_tells_a_violation_from_an_allowed_import(module, imported, broken):
    assert bool(violations(module, imported)) is broken


def test_relative_imports_are_resolved(tmp_path, monkeypatch):
    package = tmp_path / "zenith" / "domain"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from . import money\n")
    (package / "money.py").write_text("from ..storage import ledger\n\ndef f():\n    from .. import config\n")
    monkeypatch.setattr(__name__ + ".PACKAGE_ROOT", tmp_path / "zenith")
    assert project_imports(package / "__init__.py") == {"zenith.domain.money"}
    assert project_imports(package / "money.py") == {"zenith.storage", "zenith.config"}
