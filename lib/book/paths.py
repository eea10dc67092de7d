"""Where things live, computed from this package's location (never from the working directory:
papermill, nbval and jupyter-book start kernels in different directories)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parents[2]   # the repository (= the book's root)
NOTEBOOKS: Path = ROOT / "notebooks"                 # committed notebook sources
BOOK: Path = ROOT / "book"                           # chapter pages and executed notebooks
DATA: Path = ROOT / "data"                           # small data the project makes
CACHE: Path = DATA / "cache"                         # downloads (git-ignored)
CHECKPOINTS: Path = ROOT / "checkpoints"             # training checkpoints (git-ignored)


def book_data() -> Path | None:
    """The local data mirror named by ``$BOOK_DATA`` (e.g. ``../shared/data``), or None."""
    value = os.environ.get("BOOK_DATA")
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (ROOT / path).resolve()
