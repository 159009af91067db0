"""The engine registry: which engines this service has, built once from Settings by the composition root.

Adding an engine is one entry in ``FACTORIES``: a name and a function of the Settings that returns the
engine, or None when it is not configured (no model directory, no provider key). The procedural engine is
always there; ``GET /api/engines``, the create check, the worker and the page all read the registry.

>>> registry = build_registry(Settings())                          # doctest: +SKIP
>>> [info.name for info in registry.infos()]                       # doctest: +SKIP
['procedural']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from framecast.domain.errors import EngineNotAvailable
from framecast.domain.options import DEFAULT_ENGINE, VideoOptions
from framecast.engines.base import Engine, EngineInfo
from framecast.engines.hosted.configured import (
    fal_from_settings,
    openai_from_settings,
    replicate_from_settings,
)
from framecast.engines.procedural import ProceduralEngine
from framecast.settings import Settings


@dataclass(frozen=True)
class EngineFactory:
    """One registry entry: ``build(settings)`` is the engine, or None when this service has not configured
    it. ``build`` must not load a model or call a provider: it runs in every process at start-up."""

    name: str
    build: Callable[[Settings], Engine | None]


def _procedural(_settings: Settings) -> Engine:
    return ProceduralEngine()


def _diffusers(settings: Settings) -> Engine | None:
    if settings.diffusers_model is None:
        return None
    from framecast.engines.diffusion import DiffusersEngine  # torch is imported only when generating

    return DiffusersEngine.from_settings(settings)


#: Every engine Framecast knows, in the order ``GET /api/engines`` lists them. One entry per engine;
#: the hosted engines (OpenAI, Replicate, fal) are built only when their provider's key is set.
FACTORIES: list[EngineFactory] = [
    EngineFactory("procedural", _procedural),
    EngineFactory("diffusers", _diffusers),
    EngineFactory("openai", openai_from_settings),
    EngineFactory("replicate", replicate_from_settings),
    EngineFactory("fal", fal_from_settings),
]


class EngineRegistry:
    """The engines this service has configured, by name (the project option ``engine``)."""

    def __init__(self, engines: Iterable[Engine]) -> None:
        self._engines: dict[str, Engine] = {}
        for engine in engines:
            name = engine.info.name
            if name in self._engines:
                raise ValueError(f"engine {name!r} is registered twice")
            self._engines[name] = engine
        if DEFAULT_ENGINE not in self._engines:
            raise ValueError(f"the {DEFAULT_ENGINE} engine must be in every registry")

    @property
    def names(self) -> list[str]:
        return list(self._engines)

    def infos(self) -> list[EngineInfo]:
        return [engine.info for engine in self._engines.values()]

    def get(self, name: str) -> Engine:
        """The engine called ``name``; EngineNotAvailable (422) names the ones there are."""
        engine = self._engines.get(name)
        if engine is None:
            raise EngineNotAvailable(
                f"This server has no {name!r} engine; available: {', '.join(self.names)} "
                "(GET /api/engines says what each accepts).",
                field="engine",
            )
        return engine

    def check(self, name: str, options: VideoOptions, *, has_timeline: bool) -> None:
        """Refuse (422 engine_not_available) an engine that is not here or an option it cannot do."""
        self.get(name).check(options, has_timeline=has_timeline)


def build_registry(settings: Settings, factories: Sequence[EngineFactory] = FACTORIES) -> EngineRegistry:
    engines = []
    for factory in factories:
        engine = factory.build(settings)
        if engine is not None:
            engines.append(engine)
    return EngineRegistry(engines)
