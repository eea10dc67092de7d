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


def glue_paper(values: dict[str, PaperValue], prefix: str = "paper_") -> None:
    """Glue every paper value of ``values`` (a package's ``PAPER``) for the notebook's Markdown:
    ``paper_<key>`` is the value itself (``{glue:text}`paper_reverse_d2n:.2f```) and ``paper_<key>_src``
    the value with where it comes from (``{glue:md}`paper_reverse_d2n_src```)."""
    from IPython.display import Markdown
    from myst_nb import glue
    for key, pv in values.items():
        glue(f"{prefix}{key}", pv.value if not isinstance(pv.value, str) else Markdown(pv.value),
             display=False)
        glue(f"{prefix}{key}_src", Markdown(pv.text()), display=False)


def glue_values(**values: float | int | str) -> None:
    """Glue numbers of this run (parameters, sizes, derived settings) under their own names, so that the
    notebook's prose quotes them instead of typing them: ``glue_values(steps=steps)`` then
    ``{glue:text}`steps```; a string is glued as Markdown (``{glue:md}`name```)."""
    from IPython.display import Markdown
    from myst_nb import glue
    for key, value in values.items():
        if hasattr(value, "item"):         # a NumPy/PyTorch scalar: glue the plain Python number
            value = value.item()
        glue(key, Markdown(value) if isinstance(value, str) else value, display=False)
