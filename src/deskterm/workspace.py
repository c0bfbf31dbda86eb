"""Where a workspace lives on disk, and the refusal to put one where SQLite WAL is unsafe."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from deskterm.errors import UserError

APP_NAME = "deskterm"

# SQLite's WAL needs shared memory between processes on one host; these file systems
# cannot promise it (sqlite.org/wal.html), and users have lost databases on them.
_UNSAFE_FS_TYPES = {
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "9p", "afs",
    "ceph", "glusterfs", "lustre", "gpfs", "beegfs", "davfs", "fuse", "fuseblk",
    "sshfs", "s3fs", "virtiofs", "vboxsf", "vmhgfs", "prl_fs",
}


@dataclass(frozen=True)
class Workspace:
    """The folders of one workspace: data (database, index, attachments, evidence) and config."""

    data_dir: Path
    config_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "deskterm.db"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def risk_rules_file(self) -> Path:
        """The seller's own risk rules, when they keep some beside config.toml."""
        return self.config_dir / "risk-rules.txt"

    @property
    def templates_dir(self) -> Path:
        return self.config_dir / "templates"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @classmethod
    def locate(cls, home: str | os.PathLike[str] | None = None) -> "Workspace":
        """`--home` wins, then `DESKTERM_HOME`; otherwise the platform's own folders."""
        chosen = home or os.environ.get("DESKTERM_HOME")
        if chosen:
            root = Path(chosen).expanduser().absolute()
            return cls(data_dir=root, config_dir=root)
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
        )

    def ensure(self, mountinfo: str | None = None) -> None:
        """Create the folders (private to the user) after checking the file system is local.

        `mountinfo` replaces /proc/self/mountinfo (tests describe another machine's mounts).
        """
        for folder in (self.data_dir, self.config_dir):
            existing = _nearest_existing(folder)
            fs_type = filesystem_type(existing, mountinfo)
            if is_unsafe_filesystem(fs_type):
                raise UserError(
                    f"{folder} is on a {fs_type} file system; SQLite's write-ahead log is unsafe "
                    "on network and FUSE file systems. Choose a local folder with --home or DESKTERM_HOME."
                )
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.attachments_dir.mkdir(exist_ok=True, mode=0o700)
        # Buyers' data lives in the database, and SQLite gives its -wal and -shm the database's mode.
        # An existing database is never opened here: closing any descriptor of it would drop this
        # process's SQLite locks on it (POSIX), so it is only created, or its mode changed by path.
        try:
            os.close(os.open(self.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        except FileExistsError:
            if self.database.stat().st_mode & 0o077:
                self.database.chmod(0o600)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def is_unsafe_filesystem(fs_type: str) -> bool:
    base = fs_type.split(".", 1)[0]
    return fs_type in _UNSAFE_FS_TYPES or base in _UNSAFE_FS_TYPES


def filesystem_type(path: Path, mountinfo: str | None = None) -> str:
    """The type of the file system holding `path`, from /proc/self/mountinfo ("" if unknown).

    `mountinfo` can be given as text, so the parsing is tested with other machines' tables.
    """
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
    target = os.path.realpath(path)
    best_point, best_type = "", ""
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        point = _unescape_mount_path(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best_point):
            best_point, best_type = point, right.split()[0]
    return best_type


def _unescape_mount_path(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (\\040 ...)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text
