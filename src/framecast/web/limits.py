"""Request body limits as plain ASGI middleware: a declared length over the limit is refused before any
byte is read, and a streamed body is cut off the moment it passes the limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framecast.web.errors import problem


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int, upload_prefix: str = "/api/uploads"
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (
            self.upload_max_bytes + 64_000 if scope["path"].startswith(self.upload_prefix) else self.max_bytes
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope, receive, send, limit)
                    return
        seen = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    from framecast.domain.errors import PayloadTooLarge

                    raise PayloadTooLarge(_limit_message(limit))
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(413, "payload_too_large", _limit_message(limit))
        await response(scope, receive, send)


def _limit_message(limit: int) -> str:
    if limit >= 1_000_000:
        return f"The request body is over {limit / 1_000_000:.0f} MB, the most this endpoint accepts."
    return f"The request body is over {limit} bytes, the most this endpoint accepts."
