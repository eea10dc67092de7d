import nbformat
import pytest

from lib.book import paths, run

SRC = paths.NOTEBOOKS / "00_intro" / "01_tiny_llama.ipynb"


def _nb():
    return nbformat.read(SRC, as_version=4)


def test_declared_parameters_have_types():
    types = run.declared(_nb())
    assert types["seed"] == "int" and types["lr"] == "float"


@pytest.mark.parametrize("params, message", [
    ({"steps": "oops"}, r"parameter 'steps' expects int, got 'oops' \(str\)"),
    ({"nosuch": 1}, r"unknown parameter 'nosuch'"),
    ({"steps": True}, r"expects int"),
    ({"lr": "fast"}, r"parameter 'lr' expects float"),
])
def test_validate_rejects(params, message):
    with pytest.raises(run.ParameterError, match=message):
        run.validate(SRC, _nb(), params)


def test_validate_accepts_an_int_for_a_float():
    run.validate(SRC, _nb(), {"lr": 1, "steps": 3, "seed": 2})


def test_cli_fails_naming_the_parameter_and_type(capsys):
    assert run.main(["00_intro", "-p", "steps=oops"]) == 2
    assert "'steps' expects int, got 'oops'" in capsys.readouterr().err
    assert run.main(["00_intro", "-p", "nosuch=1"]) == 2
    assert "no selected notebook declares 'nosuch'" in capsys.readouterr().err


def test_cli_rejects_unknown_chapter_and_profile():
    with pytest.raises(SystemExit, match="unknown chapter"):
        run.main(["99_nosuch", "--prepare-only"])
    with pytest.raises(SystemExit, match="no profile 'huge'"):
        run.main(["00_intro", "--profile", "huge", "--prepare-only"])


def test_overrides_are_yaml_typed():
    assert run.parse_overrides(["steps=10", "lr=1e-3", "name=x", "flag=true"]) == \
        {"steps": 10, "lr": 1e-3, "name": "x", "flag": True}
    with pytest.raises(SystemExit, match="key=value"):
        run.parse_overrides(["steps"])


def test_profiles_of_every_chapter_are_declared_parameters():
    for spec in paths.NOTEBOOKS.glob("*/params.yml"):
        import yaml
        for profile, notebooks in (yaml.safe_load(spec.read_text()) or {}).items():
            for stem, params in (notebooks or {}).items():
                src = spec.parent / f"{stem}.ipynb"
                assert src.exists(), f"{spec}: profile {profile} names missing notebook {stem}"
                run.validate(src, nbformat.read(src, as_version=4), params or {})


def test_prepare_only_injects_parameters(tmp_path, capsys):
    assert run.main(["00_intro", "--prepare-only", "-p", "steps=7", "--out-dir", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / "00_intro" / SRC.name, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "steps = 7" in injected[0].source
    assert "00_intro/01_tiny_llama.ipynb" in capsys.readouterr().out


def test_selects_one_notebook_and_rejects_an_unknown_one():
    assert run.sources(["00_intro/01_tiny_llama"]) == [SRC]
    assert run.sources(["00_intro/01_tiny_llama.ipynb", "00_intro"]) == [SRC]
    with pytest.raises(SystemExit, match="unknown notebook '00_intro/99_none'; 00_intro has: 01_tiny_llama"):
        run.sources(["00_intro/99_none"])


def test_an_override_goes_to_the_notebooks_that_declare_it():
    a, b = paths.NOTEBOOKS / "x" / "a.ipynb", paths.NOTEBOOKS / "x" / "b.ipynb"
    mine = run.applicable({"rounds": 10, "seed": 1}, {a: {"seed": "int", "rounds": "int"}, b: {"seed": "int"}})
    assert mine == {a: {"rounds": 10, "seed": 1}, b: {"seed": 1}}
    with pytest.raises(run.ParameterError, match="no selected notebook declares 'nope'"):
        run.applicable({"nope": 1}, {a: {"seed": "int"}})


def test_prepared_notebook_records_its_provenance(tmp_path):
    assert run.main(["00_intro/01_tiny_llama", "--prepare-only", "-p", "steps=7", "-j", "2",
                     "--out-dir", str(tmp_path)]) == 0
    record = nbformat.read(tmp_path / "00_intro" / SRC.name, as_version=4).metadata[run.PROVENANCE_KEY]
    assert record["profile"] == "cpu" and record["overrides"] == {"steps": 7} and not record["defaults"]
    assert len(record["lib_hash"]) == 12 and isinstance(record["dirty"], bool)
