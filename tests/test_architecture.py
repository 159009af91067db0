"""The layers stay visible: domain/ and services/ import no web framework, ORM or PyAV; PyAV lives in
render/encode.py only; errors map to HTTP in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "framecast"
BANNED_IN_CORE = ("fastapi", "starlette", "sqlalchemy", "av", "uvicorn", "dramatiq", "redis")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_and_services_import_no_framework_orm_or_pyav() -> None:
    for layer in ("domain", "services"):
        for path in (SRC / layer).rglob("*.py"):
            bad = imported_modules(path) & set(BANNED_IN_CORE)
            assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_pyav_is_imported_only_by_the_encoder() -> None:
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "av" in imported_modules(p))
    assert users == ["render/encode.py"], users


def test_the_client_sdk_never_imports_server_modules() -> None:
    for path in (SRC / "client").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("framecast."):
                assert node.module.startswith("framecast.client"), f"{path.name} imports {node.module}"


def test_ruff_banned_api_rule_holds() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "TID251", str(SRC)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_http_status_codes_are_chosen_in_one_module() -> None:
    offenders = []
    for path in (SRC / "web").rglob("*.py"):
        text = path.read_text()
        if "HTTPException(" in text and path.name != "errors.py":
            offenders.append(path.name)
    assert not offenders, f"raise domain errors instead of HTTPException in {offenders}"
