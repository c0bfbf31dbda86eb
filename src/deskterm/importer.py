"""`deskterm import PATH...`: decide what each path is and hand it to the right reader.

A folder is walked (a Maildir inside it is read as one); a file is an mbox when it starts with
a `From ` line, a single message when it starts with mail headers or ends in `.eml`, and a
Seller Central report otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from deskterm.mail.ingest import MailIngest
from deskterm.mail.sources import (is_maildir, looks_like_mbox, looks_like_message, read_maildir, read_mbox,
                                   read_message_file)
from deskterm.outcome import ImportOutcome, Rejection
from deskterm.reports.load import load_report
from deskterm.store import Store

_SKIP_NAMES = {".DS_Store", "Thumbs.db"}


def import_paths(store: Store, paths: list[Path], attachments_root: Path, own_addresses: set[str]) -> ImportOutcome:
    outcome = ImportOutcome()
    mail = MailIngest(store, attachments_root, own_addresses, outcome)
    for path in paths:
        _import_path(store, path, str(path), mail, outcome)
    mail.flush()
    with store.write() as conn:
        store.audit(conn, "import", None, {
            "paths": len(paths), "imported": dict(outcome.imported),
            "duplicates": dict(outcome.duplicates), "rejected": len(outcome.rejected),
        })
    return outcome


def _import_path(store: Store, path: Path, display: str, mail: MailIngest, outcome: ImportOutcome) -> None:
    if not path.exists():
        outcome.rejected.append(Rejection(display, None, "no such file or folder"))
        return
    if is_maildir(path):
        for raw in read_maildir(path, display):
            mail.add(raw)
        return
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") or child.name in _SKIP_NAMES:
                continue
            _import_path(store, child, os.path.join(display, child.name), mail, outcome)
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        outcome.rejected.append(Rejection(display, None, f"cannot read: {exc.strerror}"))
        return
    if looks_like_mbox(head):
        for raw in read_mbox(path, display):
            mail.add(raw)
    elif path.suffix.lower() == ".eml" or looks_like_message(head):
        mail.add(read_message_file(path, display))
    else:
        mail.flush()  # keep messages and report rows in the order the user gave them
        load_report(store, path, display, outcome)
