"""`deskterm demo`: a realistic workspace built the way a user builds theirs.

The generator (demo_data) writes real-format Seller Central files and an mbox; they are then
imported through the same importers as any user file, so the demo exercises the real paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deskterm.demo_data import generate_files
from deskterm.importer import import_paths
from deskterm.outcome import ImportOutcome
from deskterm.triage.rules import default_rules_text

if TYPE_CHECKING:
    from deskterm.cli import Session

DEMO_CONFIG = """\
# Demo workspace for the fictional seller Alpine Kitchen Co. (made by `deskterm demo`).
own_addresses = ["support@alpinekitchen.example"]

[sla]
response_hours = 24
"""


def build_demo(session: "Session", seed: int) -> tuple[ImportOutcome, list[Path]]:
    workspace = session.workspace
    workspace.ensure()
    if not workspace.config_file.exists():
        workspace.config_file.write_text(DEMO_CONFIG, encoding="utf-8")
        workspace.risk_rules_file.write_text(default_rules_text(), encoding="utf-8")  # to read and edit
        session.reload_config()  # the demo's own addresses mark replies as outbound
    files = generate_files(workspace.data_dir / "demo-files", seed=seed, now=session.clock.now())
    outcome = import_paths(session.store, files, workspace.attachments_dir, session.config.own_address_set())
    session.scan_claims()  # reads the new mail for risk first
    session.search_index().sync(progress=session.progress("indexing"))
    return outcome, files
