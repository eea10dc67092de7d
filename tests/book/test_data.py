import hashlib
import importlib
import io
import urllib.error

import pytest

from lib.book import data, paths

# Paper packages register their files when imported: import every one so the registry is complete.
for _pkg in sorted(p.parent.name for p in (paths.ROOT / "lib").glob("*/__init__.py")):
    importlib.import_module(f"lib.{_pkg}")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A registered dataset 'fake' whose mirror is tmp_path/mirror and cache tmp_path/cache."""
    content = b"hello book\n"
    ds = data.Dataset("x/fake.txt", "https://example.invalid/fake.txt", hashlib.sha256(content).hexdigest(), "CC0")
    monkeypatch.setitem(data.REGISTRY, "fake", ds)
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("BOOK_DATA", str(tmp_path / "mirror"))
    return tmp_path, content


def test_mirror_is_used_first(fake):
    root, content = fake
    for where in ("mirror", "cache"):
        (root / where / "x").mkdir(parents=True)
        (root / where / "x" / "fake.txt").write_bytes(content)
    assert data.get("fake") == root / "mirror" / "x" / "fake.txt"
    assert data.candidates("fake")[0] == root / "mirror" / "x" / "fake.txt"


def test_cache_is_used_without_mirror(fake, monkeypatch):
    root, content = fake
    monkeypatch.delenv("BOOK_DATA")
    (root / "cache" / "x").mkdir(parents=True)
    (root / "cache" / "x" / "fake.txt").write_bytes(content)
    assert data.get("fake") == root / "cache" / "x" / "fake.txt"
    assert data.text("fake") == "hello book\n"
    assert data.text("fake", max_chars=5) == "hello"


def test_checksum_mismatch_is_a_clear_error(fake):
    root, _ = fake
    (root / "mirror" / "x").mkdir(parents=True)
    (root / "mirror" / "x" / "fake.txt").write_bytes(b"tampered\n")
    with pytest.raises(data.ChecksumError, match=r"dataset 'fake'.*SHA-256.*expected"):
        data.get("fake")


def test_download_is_verified_and_cached(fake, monkeypatch):
    root, content = fake
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(content))
    path = data.get("fake")
    assert path == root / "cache" / "x" / "fake.txt" and path.read_bytes() == content


def test_download_with_wrong_checksum_leaves_nothing(fake, monkeypatch):
    root, _ = fake
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"other"))
    with pytest.raises(data.ChecksumError):
        data.get("fake")
    assert not list((root / "cache").rglob("*.txt*"))


def test_no_network_names_the_mirror_variable(fake, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match="BOOK_DATA"):
        data.get("fake")
    with pytest.raises(FileNotFoundError, match="BOOK_DATA"):
        data.get("fake", download=False)


def test_unknown_dataset_lists_the_registered_ones():
    with pytest.raises(KeyError, match="tinystories_train"):
        data.get("nosuch")


@pytest.mark.skipif(paths.book_data() is None, reason="no BOOK_DATA mirror")
@pytest.mark.parametrize("name", sorted(data.REGISTRY))
def test_mirror_matches_registered_checksums(name):
    assert data.get(name, download=False).is_file()
