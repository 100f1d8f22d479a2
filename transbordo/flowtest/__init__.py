"""`transbordo test`: run conversation tests against the real worker and API on a test server.

Each test gets its own Temporal time-skipping test server, SQLite file, worker and API
(in-process, over ASGI: transbordo.stack), so tests cannot see each other's clock, queues or
conversations. The runner publishes the bot, creates what its Humano blocks need (services, an
integration whose key the flow's `${VAR}` reads, available agents), sets the clock (`at:`),
then plays the steps: customer messages through the channel API, agent actions through the
agent API, time passing by time skipping. Messages are matched in order; every message must be
expected.
"""

from transbordo.flowtest.driver import resolve_at
from transbordo.flowtest.format import parse_at, parse_duration
from transbordo.flowtest.reader import parse_test_source
from transbordo.flowtest.runner import Outcome, main, run_file, run_paths

__all__ = [
    "Outcome",
    "main",
    "parse_at",
    "parse_duration",
    "parse_test_source",
    "resolve_at",
    "run_file",
    "run_paths",
]

# Modules: format (the steps and their values), steps (reading one step), reader (a file),
# testbed (one test's stack and Omni setup), driver (playing steps), matching (expected vs got),
# runner (files → outcomes → report).
