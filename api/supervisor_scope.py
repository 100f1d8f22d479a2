"""Who calls a supervisor route, and what it reaches: the admin token (every service) or a
supervisor agent's own bearer token (the services its account belongs to).

Every supervisor route (`api/routes/supervisor.py`, `supervision.py`, the care reads) depends on
`require_supervisor`; a plain agent's token is refused (403 `not_a_supervisor`), a conversation
or a target outside the supervisor's services too (403 `outside_supervisor_scope`). With an
agent token the audit names the account, never the request body's free text.

A conversation a transfer took through several services: the context travels with it. A
supervisor reads it whole (other services' notes, whispers and people included) when it was
ever queued in one of its services, as the agents who receive a transfer read it whole (what
the last team did is what the next one needs; Zendesk and Chatwoot show private notes to
whoever sees the conversation). While another service has it (waiting or in service), its
monitor and actions are that service's supervisors'. One never queued in the caller's services
is 403 `outside_supervisor_scope` on every route and in no list
(tests/test_supervisor_transfer_scope.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, status

from api.deps import Credentials, EngineDep, SettingsDep, unauthorized
from api.errors import ApiError, ErrorCode
from omni.models import AgentPublic
from store.agents import agent_by_token
from store.supervision import agent_service_ids


def outside() -> ApiError:
    """403 for a service the caller does not supervise: a new exception per raise (one shared
    instance would collect every raise's traceback, and their frames, for the process's life)."""
    return ApiError(
        status.HTTP_403_FORBIDDEN,
        "outside the services you supervise",
        ErrorCode.OUTSIDE_SUPERVISOR_SCOPE,
    )


@dataclass(frozen=True, slots=True)
class Supervisor:
    """The caller of a supervisor route. `agent` None: the admin, every service; else the
    supervisor's account and its services (ids and names)."""

    agent: AgentPublic | None = None
    service_ids: frozenset[str] | None = None

    @property
    def service_names(self) -> frozenset[str] | None:
        return None if self.agent is None else frozenset(self.agent.services)

    def sees(self, service_id: str | None) -> bool:
        return self.service_ids is None or service_id in self.service_ids

    def check(self, service_id: str | None) -> None:
        """403 `outside_supervisor_scope` unless the service is one this caller supervises."""
        if not self.sees(service_id):
            raise outside()

    def signature(self, signed: str) -> str:
        """Who the audit and the transcript name: the account's name for a supervisor (the
        body's free text is ignored); what the admin signed with the shared token."""
        return signed if self.agent is None else self.agent.name


ADMIN = Supervisor()


def require_supervisor(
    settings: SettingsDep, engine: EngineDep, credentials: Credentials
) -> Supervisor:
    """The admin token (compared in constant time), or a supervisor agent's token."""
    if credentials is None:
        raise unauthorized()
    expected = settings.admin_token
    given = credentials.credentials
    if expected and secrets.compare_digest(given.encode(), expected.encode()):
        return ADMIN
    agent = agent_by_token(engine, given) if given else None
    if agent is None:
        raise unauthorized()
    if not agent.supervisor:
        raise ApiError(
            status.HTTP_403_FORBIDDEN, "this agent is not a supervisor", ErrorCode.NOT_A_SUPERVISOR
        )
    return Supervisor(agent, frozenset(agent_service_ids(engine, agent.id)))


SupervisorDep = Annotated[Supervisor, Depends(require_supervisor)]
