"""Shared test setup: one thread, and the data mirror (../shared/data) when it exists."""
import os

import pytest

from lib.book import paths

os.environ.setdefault("OMP_NUM_THREADS", "1")
_MIRROR = paths.ROOT.parent / "shared" / "data"
if "BOOK_DATA" not in os.environ and (_MIRROR / "SOURCES.md").exists():
    os.environ["BOOK_DATA"] = str(_MIRROR)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    torch.set_num_threads(1)
