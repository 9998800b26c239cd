"""Greenlight's engine. The folders read as the data flow of one run (docs/architecture.md):
config → targets → load → ledger → checks / verdicts → report, driven by run/ and faced by cli.py and pytest_plugin.py."""
from pathlib import Path

# The project checkout (the replica's compose file, the shipped releases, .greenlight/ state live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
