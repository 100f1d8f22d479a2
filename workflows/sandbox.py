"""The workflow sandbox settings, shared by the worker and the replayer.

Our own modules (flow models, the workflow and its mixins, interpreter, contracts) and the
libraries they use are passed through the sandbox: they are deterministic and keep no global
state, and passing them through keeps one copy of each pydantic class (a model built inside the
sandbox must be the same class the activities see). The workflow modules too: otherwise every
new run (or replay after a cache eviction) re-imports `workflows/conversation.py` and its mixins
in a fresh sandbox, and re-runs `@workflow.defn` — 37 % of the worker's CPU while queueing
customers, most of it compiling source where no .pyc is written (PYTHONDONTWRITEBYTECODE, common
in container images; bench/README.md, "overload"). The sandbox's runtime restrictions (no
clock, no random, no I/O) do not reach passed-through code, so tests/test_replay.py replays
every recorded history in `strict_workflow_runner` too, which re-imports the workflow modules
in the full sandbox and fails on such a call.

Hence the setting `workflow_sandbox=False` (the worker's `UnsandboxedWorkflowRunner`) keeps the
same determinism guard: with every module of ours passed through, the sandbox in production
already checks none of our calls; what it still did per workflow task was SDK bookkeeping (a
sandboxed instance per run, serialization and external-store contexts looked up through the
sandbox for every payload: ~16 % of the worker's CPU, bench/README.md). The guard is where it
was: the strict replay of every recorded history, and the SDK's deadlock detector and
command/history matching, which run in both runners.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = (
    "activities",
    "bots",
    "channels",
    "encryption",
    "store",
    "transbordo",
    "workflows",
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


def strict_workflow_runner() -> SandboxedWorkflowRunner:
    """The workflow code re-imported per run inside the sandbox, as the SDK does by default:
    slower, and every clock, random or I/O call of ours fails (for the replay tests)."""
    helpers = [f"workflows.{name}" for name in PURE_HELPERS]
    passthrough = [m for m in PASSTHROUGH if m != "workflows"] + helpers
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*passthrough)
    )


PURE_HELPERS = ("contracts", "interpreter", "refusals", "search_attributes", "timers")
"""The pure modules of `workflows/` the workflow code imports (passed through either way)."""
