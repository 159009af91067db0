"""Event types of the protocol and the payloads of the ones that are not persisted."""

from __future__ import annotations

from dataclasses import dataclass

from framecast.domain.models import JSON


class EventType:
    TASK_STATUS = "task_status"
    RENDER_PROGRESS = "render_progress"
    FILE = "file"
    RENDER_RESULT = "render_result"
    PROJECT_STATUS = "project_status"
    # Stream-only messages: never persisted, carry no seq.
    HELLO = "hello"
    PING = "ping"
    RESYNC = "resync"
    #: The stream hit a problem after it started (``{code, message}``); it ends and the client resumes.
    #: Not named ``error``: that name is EventSource's own connection-error event.
    PROBLEM = "problem"


@dataclass(frozen=True)
class StreamMessage:
    """A message on a stream that is not part of the log (``hello``, ``ping``, ``resync``, ``problem``)."""

    type: str
    project_id: str
    data: JSON

    def envelope(self) -> JSON:
        return {"type": self.type, "project_id": self.project_id, "data": self.data}
