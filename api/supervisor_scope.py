"""Who calls a supervisor route, and what it reaches: the admin token (every service) or a
supervisor agent's own bearer token (the services its account belongs to).

Every supervisor route (`api/routes/supervisor.py`, `supervision.py`, the care reads) depends on
`require_supervisor`; a plain agent's token is refused (403 `not_a_supervisor`), a conversation
or a target outside the supervisor's services too (403 `outside_supervisor_scope`). With an
agent token the audit names the account, never the request body's free text.

The rule for a conversation a transfer took through several services (as a Genesys or Zendesk
supervisor expects: the queue's work is mine, the other team's internals are not):

- A conversation ever queued in one of my services is mine to read: the search lists it, the
  monitor shows its transcript and the audit its actions. One never queued in them is 403
  `outside_supervisor_scope` on every route naming it (and absent from every list).
- While it waits or is in service in another service, that service has it now: the monitor
  and every action are 403 (actions need it in one of my services now).
- What happened in a service I do not supervise stays that service's: in the transcript its
  notes, whispers and supervisor notices are left out and its agents' and supervisors' names
  taken out (`data.agent`, `data.supervisor`; the pickup notice reads "um de nossos
  especialistas"); the search lists only the agents who served it in my services (`agent` only
  when that one did), only the tags and wrap-up codes recorded in my services (labels are the
  finishing service's) and the CSAT answer only when given to one of mine; tag and wrap-up
  searches match only my services' labels, and `service=` naming another one is 403; the audit
  leaves out the actions taken while another service had it. Service names stay (where it
  went is my queue's business). What an agent typed to the customer is kept as typed.
- Which service a transcript entry belongs to comes from the transcript itself, not from
  clocks: the n-th pickup notice is the n-th queue entry an agent picked up
  (`store.supervision.pickups`, `passages`). When the two counts differ (a transcript not yet
  recorded, an old gap), every internal part of the conversation counts as another
  service's: a scoped supervisor may see too little, never too much
  (`api/usecases/supervisor_redaction.py`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
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

    def sees_all(self, service_ids: Iterable[str | None]) -> bool:
        """Whether every one of these services is one this caller supervises."""
        return self.service_ids is None or all(one in self.service_ids for one in service_ids)

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
