from __future__ import annotations

import os
from pathlib import Path

import pytest

from deskterm.errors import UserError
from deskterm.workspace import Workspace, filesystem_type, is_unsafe_filesystem

MOUNTINFO = """\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:26 / /mnt/share rw,relatime shared:2 - nfs4 server:/export rw,vers=4.2
31 22 0:27 / /home/agent/remote\\040box rw,nosuid - fuse.sshfs agent@host:/ rw
32 30 0:28 / /mnt/share/local rw - ext4 /dev/vdb rw
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/deskterm", "ext4"),
        ("/mnt/share/seller", "nfs4"),
        ("/home/agent/remote box/ws", "fuse.sshfs"),
        ("/mnt/share/local/ws", "ext4"),
        ("/mnt/sharex", "ext4"),
    ],
)
def test_filesystem_type_takes_the_deepest_mount(path: str, expected: str) -> None:
    assert filesystem_type(Path(path), MOUNTINFO) == expected


@pytest.mark.parametrize("fs", ["nfs", "nfs4", "cifs", "smb3", "fuse", "fuse.sshfs", "fuse.s3fs", "9p", "ceph"])
def test_network_and_fuse_file_systems_are_unsafe(fs: str) -> None:
    assert is_unsafe_filesystem(fs)


@pytest.mark.parametrize("fs", ["ext4", "xfs", "btrfs", "tmpfs", "zfs", "overlay", "apfs"])
def test_local_file_systems_are_safe(fs: str) -> None:
    assert not is_unsafe_filesystem(fs)


def test_this_machine_workspace_is_accepted(tmp_path: Path) -> None:
    workspace = Workspace.locate(tmp_path / "ws")
    workspace.ensure()
    assert workspace.data_dir.is_dir()
    assert oct(workspace.data_dir.stat().st_mode & 0o777) == "0o700"


def test_home_option_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_HOME", str(tmp_path / "env"))
    assert Workspace.locate(tmp_path / "flag").database == tmp_path / "flag" / "deskterm.db"
    assert Workspace.locate().database == tmp_path / "env" / "deskterm.db"
    assert Workspace.locate().config_file == tmp_path / "env" / "config.toml"


def test_platformdirs_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKTERM_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    workspace = Workspace.locate()
    assert workspace.database == tmp_path / "data" / "deskterm" / "deskterm.db"
    assert workspace.config_file == tmp_path / "config" / "deskterm" / "config.toml"


@pytest.mark.parametrize("fs", ["nfs4", "fuse.sshfs", "cifs"])
def test_refuses_a_network_or_fuse_file_system(tmp_path: Path, fs: str) -> None:
    """The real check, given a mount table that says our folder is on a network or FUSE mount."""
    table = f"22 1 252:0 / / rw - ext4 /dev/vda rw\n40 22 0:40 / {os.path.realpath(tmp_path)} rw - {fs} nas:/x rw\n"
    with pytest.raises(UserError, match=f"{fs} file system"):
        Workspace.locate(tmp_path / "ws").ensure(mountinfo=table)
    assert not (tmp_path / "ws").exists()
