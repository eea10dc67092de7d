"""Named datasets with a real loader: each has its public source and a SHA-256.

``get(name)`` looks in ``$BOOK_DATA`` (a local mirror, e.g. ``../shared/data``), then in files that a
system package installs, then in ``data/cache/``, and only then downloads from the source; every file is
checked against its checksum. The corpora several chapters share are registered here; each paper package
registers its own files (``register``) in its ``datasets`` module, which its ``__init__`` imports.
"""
from __future__ import annotations

import hashlib
import shutil
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lib.book import paths

GH = "https://raw.githubusercontent.com"   # raw files of public GitHub repositories at fixed commits


@dataclass(frozen=True)
class Dataset:
    """One file: where it sits in the mirror, where it comes from, and its SHA-256."""
    relpath: str                 # path inside $BOOK_DATA and data/cache/
    url: str                     # the original public source
    sha256: str
    licence: str
    local: tuple[str, ...] = field(default=())   # files a system package installs (e.g. Debian's QE)


REGISTRY: dict[str, Dataset] = {
    # TinyStories (roneneldan/TinyStories, CDLA-Sharing-1.0): prefixes of the HF splits committed on GitHub.
    "tinystories_train": Dataset(
        "corpora/tinystories/train_head_lowercased.txt",
        f"{GH}/Arnoochka/Transformer-Parallelism/911b9e732fbe6d228ba0feacbd6735395f0d279e/tinystories.txt",
        "30c6f2fac206d82e76b80dbbede28f6b5415c8d8571dde6bfd8226ab41744a2c", "CDLA-Sharing-1.0"),
    "tinystories_valid": Dataset(
        "corpora/tinystories/validation_head_cased.txt",
        f"{GH}/yuninxia/moe-routing-bench/bb9bb0b/data/tinystories_val.txt",
        "5fc1fb0113df62b567fb271806cd645ce8d75f59c58ca0b764c03d3b6ff34ca6", "CDLA-Sharing-1.0"),
    "tinyshakespeare": Dataset(
        "corpora/tinyshakespeare/input.txt",
        f"{GH}/karpathy/char-rnn/d1d7aa34fdb3626174bce1d753e6cc6845ce7087/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", "public domain (MIT repo)"),
    "wikitext2_valid": Dataset(
        "corpora/wikitext-2/valid.txt",
        f"{GH}/pytorch/examples/main/word_language_model/data/wikitext-2/valid.txt",
        "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8", "CC BY-SA 3.0"),
    "wikitext2_test": Dataset(
        "corpora/wikitext-2/test.txt",
        f"{GH}/pytorch/examples/main/word_language_model/data/wikitext-2/test.txt",
        "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0", "CC BY-SA 3.0"),
}


def register(name: str, dataset: Dataset) -> None:
    """Add ``dataset`` under ``name`` (a paper package does this at import); a name is registered once."""
    if name in REGISTRY and REGISTRY[name] != dataset:
        raise ValueError(f"dataset {name!r} is already registered with another source")
    REGISTRY[name] = dataset


class ChecksumError(RuntimeError):
    """A data file's SHA-256 is not the registered one."""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(name: str, path: Path, ds: Dataset) -> Path:
    got = sha256(path)
    if got != ds.sha256:
        raise ChecksumError(f"dataset {name!r}: {path} has SHA-256 {got}, expected {ds.sha256}. "
                            "The file is corrupt or a different version: delete it (if it is in "
                            f"data/cache/) to download it again from {ds.url}.")
    return path


def candidates(name: str) -> list[Path]:
    """The places ``get`` looks, in order, before downloading."""
    ds = _lookup(name)
    mirror = paths.book_data()
    found = [mirror / ds.relpath] if mirror else []
    return found + [Path(p) for p in ds.local] + [paths.CACHE / ds.relpath]


def _lookup(name: str) -> Dataset:
    if name not in REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def get(name: str, *, download: bool = True) -> Path:
    """The local path of dataset ``name``, checksum-verified; downloads into ``data/cache/`` if needed."""
    ds = _lookup(name)
    for path in candidates(name):
        if path.is_file():
            return _verified(name, path, ds)
    target = paths.CACHE / ds.relpath
    if not download:
        raise FileNotFoundError(f"dataset {name!r} is not in {[str(p) for p in candidates(name)]}; set "
                                "BOOK_DATA to a mirror folder or allow the download from " + ds.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(ds.url, timeout=60) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
        _verified(name, partial, ds)
    except OSError as e:   # URLError and socket errors are OSErrors
        partial.unlink(missing_ok=True)
        raise ConnectionError(f"dataset {name!r}: could not download {ds.url} ({e}); without network, "
                              "set BOOK_DATA to a folder that mirrors it at " + ds.relpath) from e
    except ChecksumError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)
    return target


def text(name: str, *, max_chars: int | None = None) -> str:
    """A text dataset as one string (UTF-8), optionally only its first ``max_chars`` characters."""
    with open(get(name), encoding="utf-8") as f:
        return f.read(max_chars) if max_chars is not None else f.read()
