"""A paper's own numbers, kept once in its package (``lib/<paper>/paper.py``) with where each comes from,
so that claims, prose and figures quote the same value and a reader can check it."""
from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("paper", "secondary", "code")


@dataclass(frozen=True)
class PaperValue:
    """One number (or short text) of a paper. ``where``: the table, figure or section ("Table 2, row
    ESD"); ``source``: ``"paper"`` (its text or tables), ``"secondary"`` (a transcription, e.g. a
    digitised figure or a later paper's table) or ``"code"`` (the official release's configs/outputs)."""
    value: float | str
    where: str
    source: str = "paper"
    unit: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")

    def text(self) -> str:
        """The value as quoted on a page: "0.92 (Table 3)"; marked when not from the paper itself."""
        v = f"{self.value:.4g}" if isinstance(self.value, float) else str(self.value)
        unit = f" {self.unit}" if self.unit else ""
        tag = {"paper": "", "secondary": ", secondary source", "code": ", official code"}[self.source]
        return f"{v}{unit} ({self.where}{tag})"
