"""Saving an attachment out of the store: hostile names never escape the folder or overwrite."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm.attachments import export_file

HOSTILE = ["../../etc/passwd", "..", ".", "", "..\\..\\win.ini", "photo\u202egpj.exe", "a" * 300 + ".pdf",
           "\x1b]52;c;cHduZWQ=\x07.txt", "ＦＵＬＬ／ｗｉｄｔｈ.pdf", "/absolute/path.pdf", "invoice.pdf\x00.exe"]


def test_hostile_names_stay_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    for name in HOSTILE:
        written = export_file(folder, name, b"data")
        assert written.parent == folder and written.read_bytes() == b"data"
        assert "\x1b" not in written.name and "\u202e" not in written.name and "/" not in written.name
    assert len(list(folder.iterdir())) == len(HOSTILE)  # nothing overwritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=80))
def test_any_name_lands_inside_the_folder(tmp_path_factory, name: str) -> None:
    folder = tmp_path_factory.mktemp("any")
    written = export_file(folder / "saved", name, b"x")
    assert written.parent == folder / "saved" and written.is_file() and not written.is_symlink()
