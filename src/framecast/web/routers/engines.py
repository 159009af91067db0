"""The engines this service has configured, with what each accepts (durations, sizes, fps, timelines)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from framecast.domain.options import DEFAULT_ENGINE
from framecast.web.deps import CallerDep, RuntimeDep

router = APIRouter(prefix="/api/engines", tags=["engines"])


@router.get("", summary="The engines this service has, and what each accepts")
def list_engines(runtime: RuntimeDep, _caller: CallerDep) -> dict[str, Any]:
    """The same for every caller (engines are service-wide); signed in like the rest of the API."""
    return {
        "default": DEFAULT_ENGINE,
        "engines": [info.model_dump(mode="json") for info in runtime.engines.infos()],
    }
