import pytest

from lib.book import claims


@pytest.fixture
def published(monkeypatch):
    seen = []
    monkeypatch.setattr(claims, "_publish", seen.append)
    return seen


def test_check_records_and_passes(published):
    claims.check("x", "x is small", 0.5, "<", 1.0, paper="0.4", unit="nats")
    (c,) = published
    assert c.held is True and c.measured == 0.5 and c.op == "<" and c.threshold == 1.0
    assert "Held" in c.sentence() and "0.4" in c.sentence()


def test_check_records_then_fails(published):
    with pytest.raises(AssertionError, match=r"x is small: measured 2 is not < 1"):
        claims.check("x", "x is small", 2.0, "<", 1.0)
    assert published[0].held is False and "NOT HELD" in published[0].sentence()


def test_report_is_not_asserted(published):
    claims.report("y", "y as measured", 3.0, paper="5")
    assert published[0].held is None and published[0].op is None


@pytest.mark.parametrize("bad", [dict(op="=="), dict(measured=float("nan"))])
def test_bad_input(published, bad):
    args = dict(name="x", statement="s", measured=1.0, op="<", threshold=2.0) | bad
    with pytest.raises(ValueError):
        claims.check(**args)


def test_publish_glues_and_records_metadata(monkeypatch):
    shown, glued = [], []
    import IPython.display
    import myst_nb
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata: shown.append(metadata))
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value)))
    claims.check("z", "z", 1.0, ">=", 1.0)
    assert glued == [("z", 1.0)] and shown[0][claims.METADATA_KEY]["held"] is True
