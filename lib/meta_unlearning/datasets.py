"""Datasets of chapter 05_meta_unlearning: the 8×8 handwritten digits that scikit-learn ships (a copy
of the test set of UCI's *Optical Recognition of Handwritten Digits*, Alpaydin & Kaynak 1998)."""
import importlib.util
from pathlib import Path

from lib.book.data import GH, Dataset, register


def _installed_copy() -> tuple[str, ...]:
    """The file inside the installed scikit-learn package (requirements.txt pins it), found without
    importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return ()
    return (str(Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"),)


# 1797 rows of 64 pixel values (0..16) and the label, comma-separated, gzip; the file is identical in
# the scikit-learn 1.9.1 wheel. Data: UCI, CC BY 4.0; the repository: BSD-3-Clause.
register("sklearn_digits", Dataset(
    "digits/digits.csv.gz",
    f"{GH}/scikit-learn/scikit-learn/5f920ef810b73e0f475a93450f11a791b4c0fc44/sklearn/datasets/data/digits.csv.gz",
    "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22", "CC BY 4.0 (UCI); BSD-3-Clause (scikit-learn)",
    local=_installed_copy()))
