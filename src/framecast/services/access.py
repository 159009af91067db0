"""The one owner check: what a caller may read and change. Every route and transport reaches projects and
files (and webhooks) through these functions, so another owner's thing answers exactly what a missing one
answers."""

from __future__ import annotations

from framecast.domain.errors import NotFound, Unauthenticated
from framecast.domain.identity import Caller
from framecast.domain.models import Asset, Project
from framecast.domain.webhooks import WebhookEndpoint
from framecast.services.ports import LedgerSession


def visible_project(tx: LedgerSession, project_id: str, caller: Caller, *, lock: bool = False) -> Project:
    """The project if the caller may read it (its owner, any admin, a delivery token of this project);
    otherwise NotFound ``project_not_found``, as for a project that does not exist."""
    if not caller.may_read(project_id):
        raise NotFound(f"No project with id {project_id!r}.", code="project_not_found")
    return tx.project(project_id, owner=caller.owner_filter(), lock=lock)


def writer(caller: Caller) -> str:
    """The owner a change is made as; a delivery token changes nothing."""
    if caller.read_only:
        raise Unauthenticated("A delivery token can only read its project; use an API key to change it.")
    return caller.owner


def owned_project(tx: LedgerSession, project_id: str, caller: Caller) -> Project:
    """The caller's own project, locked for a change (an admin reads every project but changes only
    their own)."""
    return tx.project(project_id, owner=writer(caller), lock=True)


def may_read_asset(asset: Asset, caller: Caller) -> bool:
    """Its owner's (an upload, or a file of their project), any for an admin, a file of the token's
    project for a delivery token."""
    if caller.read_only:
        return asset.project_id is not None and asset.project_id == caller.project_id
    return caller.admin or asset.owner == caller.owner


def owned_endpoint(tx: LedgerSession, endpoint_id: str, caller: Caller) -> WebhookEndpoint:
    """One of the caller's own webhook endpoints (``/api/webhooks``); another owner's, a project's own
    webhook and a missing one all answer NotFound ``webhook_not_found`` alike."""
    owner = writer(caller)
    endpoint = tx.webhooks.endpoint(endpoint_id)
    if endpoint is None or endpoint.owner != owner or endpoint.project_id is not None:
        raise NotFound(f"No webhook with id {endpoint_id!r}.", code="webhook_not_found")
    return endpoint


def readable_project(project: Project, project_id: str, caller: Caller) -> Project:
    """``visible_project`` for a row already read without an owner filter (streams share one read of a
    project between their callers): the same NotFound for another owner's project as for a missing one."""
    owner = caller.owner_filter()
    if not caller.may_read(project_id) or (owner is not None and project.owner != owner):
        raise NotFound(f"No project with id {project_id!r}.", code="project_not_found")
    return project
