"""What an import did: counts per type and every rejected row, in the CLI contract's shape."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rejection:
    file: str
    line: int | None
    reason: str

    def as_text(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass
class ImportOutcome:
    imported: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": dict(sorted(self.imported.items())),
            "duplicates": dict(sorted(self.duplicates.items())),
            "rejected": [{"file": r.file, "line": r.line, "reason": r.reason} for r in self.rejected],
        }
