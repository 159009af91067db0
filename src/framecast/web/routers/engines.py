"""The engines this service has configured, with what each accepts (durations, sizes, fps, timelines)."""

from __future__ import annotations

from fastapi import APIRouter

from framecast.domain.options import DEFAULT_ENGINE
from framecast.web.deps import CallerDep, RuntimeDep
from framecast.web.openapi import READ, problems
from framecast.web.schemas import EngineList

router = APIRouter(prefix="/api/engines", tags=["engines"])


@router.get(
    "",
    response_model=EngineList,
    summary="The engines this service has, and what each accepts",
    responses=problems(*READ),
)
def list_engines(runtime: RuntimeDep, _caller: CallerDep) -> EngineList:
    """The same for every caller (engines are service-wide); signed in like the rest of the API."""
    return EngineList(default=DEFAULT_ENGINE, engines=list(runtime.engines.infos()))
