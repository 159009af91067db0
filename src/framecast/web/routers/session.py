"""The page's sign-in (FRAMECAST_AUTH=keys): a key typed once becomes an HttpOnly, SameSite=Lax session
cookie that SSE, WebSocket and /media requests carry; ``DELETE`` signs out (the session ends on the server,
so a copied cookie stops working too). ``GET`` says who is signed in
(and which auth mode the server runs), so the page knows whether to ask for a key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from framecast.domain.errors import Unauthenticated
from framecast.services.identity import SESSION_MAX_AGE_S
from framecast.web.auth import SESSION_COOKIE
from framecast.web.deps import RuntimeDep, get_authenticator
from framecast.web.openapi import WRITE, problems
from framecast.web.schemas import SessionPublic

router = APIRouter(prefix="/api/session", tags=["session"])


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=200, description="An API key (fc_…).")


@router.head("", include_in_schema=False)
@router.get(
    "",
    response_model=SessionPublic,
    summary="Who is signed in, and how this server signs people in",
    responses=problems(421, 503),
)
def who(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    mode = runtime.settings.auth.value
    try:
        caller = get_authenticator(request).caller(request)
    except Unauthenticated:
        # Only a missing or bad credential means "signed out": an outage (the key's record cannot be read)
        # is a 503, so the page waits instead of asking a signed-in person for their key.
        return {"auth": mode, "signed_in": False, "owner": None, "admin": False}
    return {"auth": mode, "signed_in": True, "owner": caller.owner, "admin": caller.admin}


@router.post(
    "",
    response_model=SessionPublic,
    summary="Sign in with an API key: sets the session cookie",
    responses=problems(*WRITE, 413),
)
def sign_in(body: SessionCreate, request: Request, response: Response, runtime: RuntimeDep) -> dict[str, Any]:
    cookie, caller = runtime.sessions.open(body.key)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_authenticator(request).secure_cookies(request),
    )
    return {
        "auth": runtime.settings.auth.value,
        "signed_in": True,
        "owner": caller.owner,
        "admin": caller.admin,
    }


@router.delete(
    "",
    status_code=204,
    response_class=Response,
    summary="Sign out: ends the session and clears its cookie",
    responses=problems(403, 421),
)
def sign_out(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        # Ended in the ledger, not only forgotten by this browser: a copy of the cookie stops working too.
        get_authenticator(request).sign_out(cookie)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_authenticator(request).secure_cookies(request),
    )
    return response
