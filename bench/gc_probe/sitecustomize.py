"""Installs gc_pauses.py's probe in a process started with this folder on PYTHONPATH and
TRANSBORDO_GC_PROBE=<folder for the logs>; nothing without the variable."""

import os

if os.environ.get("TRANSBORDO_GC_PROBE"):
    from gc_pauses import install

    install(os.environ["TRANSBORDO_GC_PROBE"])
