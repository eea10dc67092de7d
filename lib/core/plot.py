"""One colour per method or role across all chapters, and a few plotting helpers (the figure style
itself is ``lib.book.style``, set by ``nb.setup``). Paper packages add their methods' colours with
``register_colors`` when imported."""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from lib.book.style import CYCLE

# One colour per role, used by every chapter; a paper package registers its methods' colours (never
# colour ad hoc in a notebook).
COLORS: dict[str, str] = {
    "train": "#1f77b4", "validation": "#ff7f0e", "baseline": "#7f7f7f", "reference": "#2ca02c",
    "ours": "#d62728", "paper": "#2ca02c",
}


def register_colors(colors: Mapping[str, str]) -> None:
    """Add a paper's method colours (lower-case names); a name keeps the first colour it was given."""
    for name, value in colors.items():
        if COLORS.setdefault(name.lower(), value) != value:
            raise ValueError(f"colour of {name!r} is already {COLORS[name.lower()]}, not {value}")


def color(name: str) -> str:
    """The book-wide colour of a method or role (a grey for unknown names)."""
    return COLORS.get(name.lower(), COLORS["baseline"])


def loss_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str,
                ylabel: str = "loss (nats/token)", baselines: Mapping[str, float] | None = None,
                ax: plt.Axes | None = None) -> plt.Axes:
    """Plot named (steps, values) curves, plus horizontal baseline lines; returns the axes."""
    ax = ax or plt.subplots()[1]
    for name, (x, y) in curves.items():
        sparse = len(x) < 30   # an evaluation every few hundred steps: show the points
        ax.plot(x, y, label=name, color=COLORS.get(name.lower()), marker="o" if sparse else None, ms=3)
    for name, value in (baselines or {}).items():
        ax.axhline(value, ls="--", lw=1, color=color("baseline"))
        ax.annotate(f"{name} {value:.3f}", (0.99, value), xycoords=("axes fraction", "data"),
                    ha="right", va="bottom", fontsize=8, color=color("baseline"))
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    ax.legend()
    return ax


def bars(values: Mapping[str, Sequence[float]], *, title: str, ylabel: str,
         ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of the mean over seeds with the standard deviation as error bars, one bar per name."""
    ax = ax or plt.subplots()[1]
    names = list(values)
    arrays = [np.asarray(values[n], dtype=float) for n in names]
    means = [a.mean() for a in arrays]
    errs = [a.std(ddof=1) if a.size > 1 else 0.0 for a in arrays]
    ax.bar(names, means, yerr=errs, capsize=4, color=[color(n) for n in names])
    ax.set(ylabel=ylabel, title=title)
    return ax


def grouped_bars(means: pd.DataFrame, errors: pd.DataFrame | None = None, *, title: str, ylabel: str,
                 hatched: Sequence[str] = (), ax: plt.Axes | None = None) -> plt.Axes:
    """One group of bars per row of ``means``, one bar per column (coloured by the column's name),
    with ``errors`` (same shape) as error bars; columns named in ``hatched`` are drawn hatched
    (e.g. published numbers beside measured ones). NaN cells are left empty."""
    ax = ax or plt.subplots(figsize=(7.5, 3.8))[1]
    n_rows, n_cols = means.shape
    width = 0.8 / n_cols
    x = np.arange(n_rows)
    for j, col in enumerate(means.columns):
        err = None if errors is None else errors[col].to_numpy()
        ax.bar(x + (j - (n_cols - 1) / 2) * width, means[col].to_numpy(), width, yerr=err, capsize=3,
               label=col, color=COLORS.get(col.lower(), CYCLE[j % len(CYCLE)]),
               hatch="//" if col in hatched else None, alpha=0.6 if col in hatched else 1.0)
    ax.set_xticks(x, [textwrap.fill(str(label), 18) for label in means.index], fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return ax


def log_axes(ax: plt.Axes, *, y: bool = True) -> plt.Axes:
    """Log scale for a power law: x (e.g. FLOPs or parameters) labelled at its decades only, and with
    ``y`` a log y axis (a loss spanning less than a decade) labelled with plain numbers at its major
    and minor ticks."""
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if y:
        ax.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    return ax


def head_map(ax: plt.Axes, values: np.ndarray | pd.DataFrame, *, title: str, cmap: str = "magma",
             vmin: float = 0.0, vmax: float = 1.0) -> matplotlib.image.AxesImage:
    """One cell per attention head: ``values`` (layers, heads), e.g. the first token's α per head, drawn
    with layer 0 on top and every layer and head ticked; returns the image (for a colour bar)."""
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 2:
        raise ValueError(f"values must be (layers, heads), got shape {grid.shape}")
    im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set(title=title, xlabel="head", ylabel="layer", xticks=range(grid.shape[1]), yticks=range(grid.shape[0]))
    ax.grid(False)
    return im
