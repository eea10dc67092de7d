"""Measured claims: assert a number against its threshold, glue it into the page's text, and record it
in the executed notebook so that the build can gather every chapter's claims on one results page.

In a notebook::

    claims.check("val_loss", "validation loss below the unigram baseline", val, "<", unigram,
                 kind="check", unit="nats/token")
    claims.check("mdm_rev", "MDM reverse accuracy", acc, ">=", 0.15, paper=PAPER["reverse_d2n"])

and in the Markdown below it: ``{glue:text}`val_loss:.3f```.

``kind`` is ``"claim"`` for something the paper asserts (counted as a reproduced or failed paper claim)
or ``"check"`` for a sanity check of our own run (a judge better than the model it judges, a loss below
unigram). ``paper`` is the paper's value: a ``lib.book.paper.PaperValue`` (value and source, kept once
in the paper's package) or short text.
"""
from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass

from lib.book.paper import PaperValue

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
KINDS = ("claim", "check")
METADATA_KEY = "book_claim"   # the output metadata key that lib.book.results looks for


@dataclass(frozen=True)
class Claim:
    """One measured claim. ``op``/``threshold`` are None for a number that is only reported."""
    name: str
    statement: str
    measured: float
    op: str | None
    threshold: float | None
    paper: str
    unit: str
    held: bool | None
    kind: str = "claim"

    def sentence(self) -> str:
        """One line for the page: the statement, the number, the threshold and the paper's value."""
        unit = f" {self.unit}" if self.unit else ""
        test = f"; threshold {self.op} {self.threshold:.4g}" if self.op else ""
        mark = {True: "**Held**", False: "**NOT HELD**", None: "Reported"}[self.held]
        if self.kind == "check":
            mark += " (check)"
        return (f"{mark} — {self.statement}: measured **{self.measured:.4g}**{unit}{test}"
                f" (paper: {self.paper or 'n/a'})")


def _publish(claim: Claim) -> None:
    from IPython.display import Markdown, display
    from myst_nb import glue
    glue(claim.name, claim.measured, display=False)
    display(Markdown(claim.sentence()), metadata={METADATA_KEY: asdict(claim)})


def _number(name: str, measured: float) -> float:
    value = float(measured)
    if not math.isfinite(value):
        raise ValueError(f"claim {name!r}: measured value must be finite, got {measured!r}")
    return value


def _paper_text(paper: PaperValue | str) -> str:
    return paper.text() if isinstance(paper, PaperValue) else str(paper)


def _kind(name: str, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"claim {name!r}: kind must be one of {KINDS}, got {kind!r}")
    return kind


def check(name: str, statement: str, measured: float, op: str, threshold: float, *,
          paper: PaperValue | str = "", unit: str = "", kind: str = "claim") -> None:
    """Record and glue ``measured``, then assert ``measured op threshold``.

    ``op`` is one of ``<``, ``<=``, ``>``, ``>=``; ``paper`` is the paper's value as text (with its
    scale, e.g. ``"0.92 at 1.1B"``)."""
    if op not in OPS:
        raise ValueError(f"claim {name!r}: op must be one of {sorted(OPS)}, got {op!r}")
    value = _number(name, measured)
    held = bool(OPS[op](value, float(threshold)))
    _publish(Claim(name, statement, value, op, float(threshold), _paper_text(paper), unit, held,
                   _kind(name, kind)))
    assert held, f"{statement}: measured {value:.6g} is not {op} {float(threshold):.6g}"


def report(name: str, statement: str, measured: float, *, paper: PaperValue | str = "", unit: str = "",
           kind: str = "claim") -> None:
    """Record and glue a measured number that is shown beside the paper's but not asserted
    (for a claim that does not hold at our scale, say so in the text)."""
    value = _number(name, measured)
    _publish(Claim(name, statement, value, None, None, _paper_text(paper), unit, None, _kind(name, kind)))
