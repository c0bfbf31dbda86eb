"""Writing an evidence folder: built aside, published whole, hashed into a manifest.

The folder is written under a temporary name beside its final place and swapped in at the end, so
a reader never sees half a folder and a rebuild replaces the old one entirely. Names chosen by
deskterm are written as they are; names that came from outside (attachments, documents) go through
the safe recipe of `attachments.export_file`. Every file is mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import zipfile
from pathlib import Path
from typing import Any

from deskterm import __version__
from deskterm.attachments import export_file
from deskterm.errors import UserError

AMAZON_FILE_LIMIT = 10 * 1024 * 1024  # the case form refuses larger attachments
MANIFEST = "manifest.json"


class FolderWriter:
    def __init__(self, final: Path) -> None:
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.temp = final.parent / f".{final.name}.{secrets.token_hex(6)}.tmp"
        self.temp.mkdir(mode=0o700)
        self.not_copied: list[dict[str, Any]] = []   # files left out (over a size limit), named in the manifest

    def text(self, relative: str, text: str) -> str:
        return self.data(relative, text.encode("utf-8"))

    def data(self, relative: str, data: bytes) -> str:
        target = self.temp / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return relative

    def export(self, folder: str, name: str, data: bytes) -> str:
        """A file named from outside: one safe path segment, never overwriting a sibling."""
        written = export_file(self.temp / folder, name, data)
        return str(written.relative_to(self.temp))

    def leave_out(self, relative: str, size: int, sha256: str, reason: str) -> None:
        """Record a file that is not copied into the folder: the manifest names it with its size."""
        self.not_copied.append({"path": relative, "size": size, "sha256": sha256, "reason": reason})

    def publish(self, snapshot: dict[str, Any], built_at: str) -> Path:
        files = []
        for path in sorted(p for p in self.temp.rglob("*") if p.is_file()):
            data = path.read_bytes()
            files.append({"path": str(path.relative_to(self.temp)), "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
        manifest = {"deskterm": __version__, "built_at": built_at, "subject": snapshot, "files": files}
        if self.not_copied:
            manifest["not_copied"] = sorted(self.not_copied, key=lambda entry: entry["path"])
        self.text(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        old = None
        if self.final.is_symlink():
            self.final.unlink()
        elif self.final.exists():
            old = self.final.parent / f".{self.final.name}.{secrets.token_hex(6)}.old"
            os.rename(self.final, old)
        os.rename(self.temp, self.final)
        if old is not None:
            shutil.rmtree(old)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)


def write_zip(folder: Path) -> tuple[Path, list[str]]:
    """`folder.zip` beside the folder, the same bytes for the same files (fixed timestamps, sorted
    names); also the files over Amazon's 10 MB limit for one attachment."""
    target = folder.with_name(folder.name + ".zip")
    temp = folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.zip")
    oversized = []
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            relative = str(path.relative_to(folder))
            data = path.read_bytes()
            if len(data) > AMAZON_FILE_LIMIT:
                oversized.append(relative)
            info = zipfile.ZipInfo(f"{folder.name}/{relative}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o600 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(temp, target)
    return target, oversized


def verify(folder: Path) -> list[str]:
    """What differs from the manifest: changed, missing and added files (empty when intact)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        listed = {entry["path"]: entry for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{folder / MANIFEST}: not a readable evidence manifest ({exc})") from None
    problems = []
    for relative, entry in sorted(listed.items()):
        path = folder / relative
        if path.is_symlink() or not path.is_file():
            problems.append(f"missing: {relative}")
            continue
        data = path.read_bytes()
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"changed: {relative}")
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if (path.is_file() or path.is_symlink()) and relative != MANIFEST and relative not in listed:
            problems.append(f"added: {relative}")
    return problems
