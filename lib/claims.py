"""Measured claims: assert a number against its threshold, glue it into the page's text, and record it
in the executed notebook so that the build can gather every chapter's claims on one results page.

In a notebook::

    claims.check("val_loss", "validation loss below the unigram baseline", val, "<", unigram,
                 paper="n/a", unit="nats/token")

and in the Markdown below it: ``{glue:text}`val_loss:.3f```.
"""
from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
METADATA_KEY = "book_claim"   # the output metadata key that lib.results looks for


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

    def sentence(self) -> str:
        """One line for the page: the statement, the number, the threshold and the paper's value."""
        unit = f" {self.unit}" if self.unit else ""
        test = f"; threshold {self.op} {self.threshold:.4g}" if self.op else ""
        mark = {True: "**Held**", False: "**NOT HELD**", None: "Reported"}[self.held]
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


def check(name: str, statement: str, measured: float, op: str, threshold: float, *,
          paper: str = "", unit: str = "") -> None:
    """Record and glue ``measured``, then assert ``measured op threshold``.

    ``op`` is one of ``<``, ``<=``, ``>``, ``>=``; ``paper`` is the paper's value as text (with its
    scale, e.g. ``"0.92 at 1.1B"``)."""
    if op not in OPS:
        raise ValueError(f"claim {name!r}: op must be one of {sorted(OPS)}, got {op!r}")
    value = _number(name, measured)
    held = bool(OPS[op](value, float(threshold)))
    _publish(Claim(name, statement, value, op, float(threshold), paper, unit, held))
    assert held, f"{statement}: measured {value:.6g} is not {op} {float(threshold):.6g}"


def report(name: str, statement: str, measured: float, *, paper: str = "", unit: str = "") -> None:
    """Record and glue a measured number that is shown beside the paper's but not asserted
    (for a claim that does not hold at our scale, say so in the text)."""
    value = _number(name, measured)
    _publish(Claim(name, statement, value, None, None, paper, unit, None))
