"""The workflow sandbox settings, shared by the worker and the replayer.

Our own pure modules (flow models, interpreter, contracts) and the libraries they use are
passed through the sandbox: they are deterministic, and passing them through keeps one copy of
each pydantic class (a model built inside the sandbox must be the same class the activities see).
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = (
    "activities",
    "bots",
    "encryption",
    "store",
    "transbordo",
    "workflows.contracts",
    "workflows.interpreter",
    "workflows.refusals",
    "workflows.search_attributes",
    "workflows.timers",
    "pydantic",
    "pydantic_core",
    "jinja2",
    "markupsafe",
    "re2",
    "cryptography",
    "sqlalchemy",
    "httpx",
    "yaml",
    "opentelemetry",  # the tracing interceptor's workflow side (transbordo/tracing.py)
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
