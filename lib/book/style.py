"""The book's matplotlib style, set once per kernel by ``nb.setup``."""
from __future__ import annotations

import matplotlib

CYCLE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def style() -> None:
    """Set the book's matplotlib style (PNG at 100 dpi, no SVG: nbval compares SVG text)."""
    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (6.4, 3.8),
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=CYCLE), "legend.frameon": False,
        "font.size": 10, "axes.titlesize": 10,
    })
