"""The domain stays pure: it imports only the standard library and itself, and no I/O modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zenith.domain

DOMAIN_DIR = Path(zenith.domain.__file__).parent
MODULES = sorted(DOMAIN_DIR.rglob("*.py"))
ALLOWED_TOP_LEVEL = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "hashlib",
    "re",
    "secrets",
    "types",
    "typing",
    "unicodedata",
    "urllib",
    "zenith",
}


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.append(node.module or "")
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(DOMAIN_DIR)))
def test_domain_module_imports_only_stdlib_rules_and_itself(path):
    for name in imported_names(path):
        assert name.split(".")[0] in ALLOWED_TOP_LEVEL, f"{path.name} imports {name}"
        if name.startswith("zenith"):
            assert name.startswith("zenith.domain."), f"{path.name} imports {name} outside the domain"
        if name.startswith("urllib"):
            assert name == "urllib.parse", f"{path.name} imports {name}"


def test_every_domain_module_is_covered():
    assert {str(path.relative_to(DOMAIN_DIR).with_suffix("")) for path in MODULES} == {
        "__init__",
        "links",
        "money",
        "tiers",
        "earnings",
        "schedule",
        "payouts",
        "verification",
        "videos",
        "users",
        "api_keys",
        "submissions",
        "campaigns",
        "campaign_admin",
        "campaign_upcoming",
        "trust/__init__",
        "trust/signals",
        "trust/plausibility",
        "trust/growth",
        "trust/risk",
        "trust/policy",
    }
