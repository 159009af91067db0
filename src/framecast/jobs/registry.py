"""The registry of task kinds: one ``TaskSpec`` per kind says what runs it, what its parameters look like,
which queue carries it and how much of a project's progress it stands for.

Adding a kind is one handler and one entry in ``jobs/handlers.py``'s ``TASKS``: the actors, the queue, the
runner and the progress weights all read the registry.

Retries are the same for every kind and are not a broker matter: a failed task is recorded on the task and
fails its project (a person decides to retry); a crashed worker's message comes back through the broker's
redelivery. Order is the send order: tasks go into one FIFO queue in the order ``render_graph`` lists them,
and each worker takes one message at a time (a Dramatiq actor priority would only order the messages a
worker has already prefetched, and with a prefetch of one there are none to order).

>>> spec = TaskSpec("poster", poster_handler, NoParams)                 # doctest: +SKIP
>>> task = spec.task("prj_1", depends_on=["tsk_plan"])                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from framecast.domain.errors import TaskFailed
from framecast.domain.models import Task, new_id

if TYPE_CHECKING:
    from framecast.jobs.context import TaskContext
    from framecast.services.pipeline import TaskOutcome

#: The one queue every kind goes to (see the module docstring for why order is the send order).
QUEUE_NAME = "framecast"


class TaskParams(BaseModel):
    """Base of every kind's parameters: stored as JSON on the task, validated when the task runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(TaskParams):
    """For kinds that need nothing but their project's timeline."""


P = TypeVar("P", bound=TaskParams)


@dataclass(frozen=True)
class TaskSpec(Generic[P]):
    """One task kind. ``handler(ctx, params)`` does the work and returns what it produced."""

    kind: str
    handler: Callable[[TaskContext, P], TaskOutcome]
    params: type[P]
    #: Share of a project's progress bar, relative to the other tasks of the project.
    progress_weight: float = 0.5
    queue: str = QUEUE_NAME

    @property
    def actor_name(self) -> str:
        return f"framecast.{self.kind}"

    def task(self, project_id: str, *, depends_on: list[str], params: P | None = None) -> Task:
        """A new task of this kind (its parameters checked now, so a bad graph fails where it is built)."""
        value = params if params is not None else self.params()
        return Task(
            id=new_id("tsk"),
            project_id=project_id,
            kind=self.kind,
            depends_on=depends_on,
            params=value.model_dump(mode="json"),
        )

    def run(self, ctx: TaskContext) -> TaskOutcome:
        try:
            params = self.params.model_validate(ctx.task.params)
        except ValidationError as exc:
            raise TaskFailed(
                f"The {self.kind} step was stored with parameters it cannot use ({exc.error_count()} "
                "error(s)); retry the project.",
                code="invalid_task_params",
            ) from exc
        return self.handler(ctx, params)


class TaskRegistry(Mapping[str, "TaskSpec[Any]"]):
    """Task specs by kind, in the order they were registered."""

    def __init__(self, specs: Iterable[TaskSpec[Any]]) -> None:
        self._specs: dict[str, TaskSpec[Any]] = {}
        for spec in specs:
            if spec.kind in self._specs:
                raise ValueError(f"task kind {spec.kind!r} is registered twice")
            self._specs[spec.kind] = spec

    def __getitem__(self, kind: str) -> TaskSpec[Any]:
        return self._specs[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def progress_weights(self) -> dict[str, float]:
        return {kind: spec.progress_weight for kind, spec in self._specs.items()}
