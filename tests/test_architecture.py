"""The layers stay visible: domain/ and services/ import no web framework, ORM or PyAV; PyAV lives in
render/encoding/encode.py only; errors map to HTTP in one place."""

from __future__ import annotations

import ast
import json
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
    assert users == ["render/encoding/encode.py"], users


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


#: Which rooms each room may import (besides itself). The arrows point down the layers: the composition
#: root (app_context) and the entry points (cli, __main__) sit on top; nothing imports them.
ALLOWED_IMPORTS: dict[str, set[str]] = {
    "domain": set(),
    "logs": set(),
    "settings": {"domain"},
    "services": {"domain"},
    "runtime": {"domain", "services", "settings", "engines"},
    "render": {"domain"},
    # Engines read their own Settings fields; the procedural engine wraps the renderer.
    "engines": {"domain", "settings", "render"},
    "ledger": {"domain", "services"},
    "events": {"domain", "services"},
    "media": {"domain", "services"},
    "webhooks": {"framecast", "domain", "services"},
    "jobs": {"domain", "services", "settings", "runtime", "render", "engines", "logs"},
    "web": {"framecast", "domain", "services", "settings", "runtime", "logs"},
    "client": set(),
    "terminal": {"client"},
    "app_context": {
        "domain",
        "services",
        "settings",
        "runtime",
        "ledger",
        "events",
        "media",
        "jobs",
        "render",
        "engines",
        "webhooks",
    },
    "cli": {
        "domain",
        "services",
        "settings",
        "runtime",
        "app_context",
        "ledger",
        "jobs",
        "web",
        "client",
        "logs",
        "engines",
        "terminal",
    },
    "__main__": {"cli"},
    "framecast": set(),
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "framecast"


def import_arrows() -> list[tuple[str, str, str]]:
    """(importing module, its room, imported room) for every import of framecast's own modules."""
    arrows = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target == "framecast" or target.startswith("framecast."):
                    arrows.append((module, _room(module), _room(target)))
    return arrows


def test_no_module_imports_a_layer_above_its_own() -> None:
    arrows = import_arrows()
    assert arrows, "the import scan found nothing"
    rooms = {room for _, room, _ in arrows}
    assert rooms <= set(ALLOWED_IMPORTS), f"rooms without a rule: {rooms - set(ALLOWED_IMPORTS)}"
    upward = sorted(
        f"{module} -> {target}"
        for module, room, target in arrows
        if target != room and target not in ALLOWED_IMPORTS[room]
    )
    assert not upward, upward


def test_the_scan_sees_an_upward_import() -> None:
    # The rule above must be able to fail: a web module importing the composition root is caught.
    assert "app_context" not in ALLOWED_IMPORTS["web"]
    assert "web" not in ALLOWED_IMPORTS["jobs"]


def test_render_modules_do_not_import_each_other_in_a_cycle() -> None:
    # Modules by their dotted path under render/ ("words.planner", "encoding.encode"): in the sub-rooms a
    # file's stem alone would merge every __init__ and miss an arrow such as drawing.x -> words.y.
    render = SRC / "render"
    graph: dict[str, set[str]] = {}
    for path in render.rglob("*.py"):
        parts = path.relative_to(render).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[module] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("framecast.render.")
            ):
                graph[module].add(node.module.removeprefix("framecast.render."))
    cycles = sorted(
        f"{a} <-> {b}" for a, deps in graph.items() for b in deps if a < b and a in graph.get(b, ())
    )
    assert not cycles, cycles


def test_the_encoding_room_sits_at_the_end_of_the_render_pipeline() -> None:
    # encoding/ takes drawn frames (drawing.planes) and files; it never reaches back to the words, the
    # scenes or the entry points that drive it (frames, video), so it can be read and changed on its own.
    allowed = {"framecast.render.drawing.planes", "framecast.render.drawing.images"}
    reached: set[str] = set()
    for path in (SRC / "render" / "encoding").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("framecast.render")
            ):
                reached.add(node.module)
    assert reached, "the scan found no import in render/encoding"
    outside = sorted(m for m in reached if not m.startswith("framecast.render.encoding") and m not in allowed)
    assert not outside, outside


HEAVY_ML = ("torch", "diffusers", "transformers", "tokenizers", "accelerate")


def test_torch_and_diffusers_are_loaded_only_by_the_diffusion_engine_when_it_generates(
    tmp_path: Path,
) -> None:
    # No module imports them at its top; engines/diffusion.py imports them inside load_pipeline.
    static = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if imported_modules(p) & set(HEAVY_ML))
    assert static == [], static
    dynamic = sorted(
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if 'import_module("torch")' in p.read_text()
    )
    assert dynamic == ["engines/diffusion.py"], dynamic
    # The API's side of a service with the engine configured: the registry lists it and checks options,
    # and never loads torch.
    (tmp_path / "model").mkdir()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from framecast.engines.registry import build_registry\n"
        "from framecast.domain.options import VideoOptions\n"
        "from framecast.settings import Settings\n"
        f"settings = Settings(data_dir=Path({str(tmp_path / 'data')!r}), diffusers_model=Path({str(tmp_path / 'model')!r}))\n"
        "registry = build_registry(settings)\n"
        "registry.check('diffusers', VideoOptions(duration_s=2), has_timeline=False)\n"
        "import json\n"
        f"print(json.dumps([registry.names, sorted(m for m in {HEAVY_ML!r} if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    names, loaded = json.loads(out)
    assert names == ["procedural", "diffusers"] and loaded == [], out
