"""Every number accounted for (issue 12, items 1 and 3).

(a) Each paper package's ``paper.py`` holds its paper's numbers as ``PaperValue``s with a source, and every
    ``PAPER[...]`` key and ``paper_<key>`` glue reference in the notebooks resolves.
(b) No paper number is typed in a notebook's code: ``paper=`` takes a ``PAPER`` entry or text without
    digits, and variables holding paper values for tables and plots (``paper...``, ``published...``) are
    built from ``PAPER``.
(c) No number is typed in a notebook's prose: numbers in Markdown cells are glued (``{glue:text}`key```),
    from the run or from the paper values, except for the short reviewed allow-list below.
"""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import nbformat
import pytest

from lib.book import paths
from lib.book.paper import SOURCES, PaperValue

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*/*.ipynb"))
PACKAGES = sorted(p.parent.name for p in (paths.ROOT / "lib").glob("*/paper.py") if p.parent.name not in ("book", "core"))
NB_IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]


def _cells(path: Path, kind: str) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == kind]


def _paper(package: str) -> dict:
    return importlib.import_module(f"lib.{package}.paper").PAPER


# --------------------------------------------------------------------------------------------------------
# (a) paper values resolve

def test_there_are_paper_packages():
    assert {"dft", "sea", "smdm", "attention_sink", "vocab_scaling"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_paper_values_have_a_source(package):
    values = _paper(package)
    assert isinstance(values, dict) and values, f"lib/{package}/paper.py defines a non-empty PAPER dict"
    for key, pv in values.items():
        assert re.fullmatch(r"[\w-]+", key), f"{package}: key {key!r} must be usable as a glue name"
        assert isinstance(pv, PaperValue), f"{package}: PAPER[{key!r}] is not a PaperValue"
        assert pv.where.strip(), f"{package}: PAPER[{key!r}] says nowhere where it comes from"
        assert pv.source in SOURCES
        assert isinstance(pv.value, (int, float, str)) and not isinstance(pv.value, bool)


def _imported_package(code: str) -> str | None:
    m = re.search(r"from lib\.(\w+)\.paper import PAPER", code)
    return m.group(1) if m else None


def _key_pattern(expr: str) -> re.Pattern:
    """``"name"`` or ``f"gpt3_{name}_rev"`` as a regex over keys (each ``{...}`` matches anything)."""
    return re.compile("".join(".+" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]*\})", expr)))


def _paper_keys_used(code: str) -> list[str]:
    return re.findall(r"\bPAPER\[\s*f?[\"']([^\"']+)[\"']\s*\]", code)


GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")


@pytest.mark.parametrize("src", NOTEBOOKS, ids=NB_IDS)
def test_paper_keys_in_notebooks_resolve(src):
    code = "\n".join(s for _, s in _cells(src, "code"))
    package = _imported_package(code)
    used = _paper_keys_used(code)
    prose = "\n".join(s for _, s in _cells(src, "markdown"))
    glued = {k for k in GLUE_REF.findall(prose) if k.startswith("paper_")}
    if package is None:
        assert not used, f"uses PAPER[...] without `from lib.<paper>.paper import PAPER`: {used}"
        assert "glue_paper(" not in code
        return
    values = _paper(package)
    for expr in used:
        pattern = _key_pattern(expr)
        assert any(pattern.fullmatch(k) for k in values), f"PAPER[{expr!r}] is not in lib/{package}/paper.py"
    glues_all = re.search(r"glue_paper\(PAPER|glue\(\s*f[\"']paper_", code)
    unglued = sorted(ref for ref in glued if not glues_all and f'"{ref}"' not in code and f"'{ref}'" not in code)
    assert not unglued, f"the prose quotes {unglued} but the notebook never glues them (lib.book.paper.glue_paper)"
    for ref in glued:
        key = ref.removeprefix("paper_").removesuffix("_src") if ref.endswith("_src") else ref.removeprefix("paper_")
        assert key in values or ref.removeprefix("paper_") in values, \
            f"the prose quotes {{glue}}`{ref}` but lib/{package}/paper.py has no key {key!r}"


# --------------------------------------------------------------------------------------------------------
# (b) no paper number typed in notebook code

PAPER_KWARG = re.compile(r"\bpaper\s*=\s*(f?)([\"'])((?:\\.|(?!\2).)*)\2", re.S)
PAPER_NAME = re.compile(r"^(paper|published|PAPER)", re.I)


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    return None


def _table_literals(expr: ast.AST) -> list[float]:
    """Numbers typed as data in ``expr``: elements of list/tuple/set literals and values of dict literals
    (not the ranges a comprehension iterates over, and not 0 or 1)."""
    skip = {id(c.iter) for c in ast.walk(expr) if isinstance(c, ast.comprehension)}
    out = []
    for node in ast.walk(expr):
        if id(node) in skip:
            continue
        items = node.values if isinstance(node, ast.Dict) else \
            node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else []
        out += [v for v in map(_number, items) if v is not None and v not in (0, 1)]
    return out


def _digits_in_text(text: str, fstring: bool) -> bool:
    """Whether the text of a ``paper=`` literal holds a number (not a reference like "Tab. 3", a name like
    "GPT-4o" or "forget10", "4-bit", or an f-string field)."""
    if fstring:
        text = re.sub(r"\{[^{}]*\}", " ", text)
    for key in ("section, table, figure", "identifiers with digits", "arXiv ids"):
        text = next(_ALLOWED[i] for i, k in enumerate(ALLOWED) if k.startswith(key)).sub(" ", text)
    text = re.sub(r"\b\d+-bit\b", " ", text)
    return bool(re.search(r"(?<![\w.-])\d", text))


def typed_paper_numbers(code: str) -> list[str]:
    """Paper numbers typed in ``code``: ``paper="... 0.92 ..."`` (or any non-PAPER literal with digits),
    ``paper=<number>``, and numeric literals assigned to a ``paper...``/``published...`` variable."""
    found = [f"paper={m.group(1)}{m.group(2)}{m.group(3)}{m.group(2)}" for m in PAPER_KWARG.finditer(code)
             if _digits_in_text(m.group(3), fstring=bool(m.group(1)))]
    found += [m.group(0) for m in re.finditer(r"\bpaper\s*=\s*[-+]?\d[\d.e+-]*", code)]
    found += [m.group(0) for m in re.finditer(r"\bpaper\s*=\s*[\[{(]", code)]
    try:
        tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and PAPER_NAME.match(t.id)
                                                for t in node.targets):
            if numbers := _table_literals(node.value):
                found.append(f"{ast.unparse(node.targets[0])} = ... {numbers}")
    return found


def test_typed_paper_number_detector():
    assert typed_paper_numbers('claims.check("x", "s", v, ">", 0.5, paper="0.92 at 1.1B")')
    assert typed_paper_numbers("claims.report('x', 's', v, paper=f'{w} (Table 5: 37 %)')")
    assert typed_paper_numbers('claims.report("x", "s", v, paper=0.92)')
    assert typed_paper_numbers('claims.report("x", "s", v, paper={"d2n": "0.92"}[name])')
    assert typed_paper_numbers('paper_t6 = {"softmax": 18.18, "sigmoid": 0.44}')
    assert typed_paper_numbers('published = pd.DataFrame({"GPT-3": [0.967, 0.001]})')
    assert not typed_paper_numbers('claims.check("x", "s", v, ">", 0.5, paper=PAPER["mdm_d2n_rev"])')
    assert not typed_paper_numbers('claims.report("x", "s", v, paper="n/a (no paper: the template chapter)")')
    assert not typed_paper_numbers('paper_t6 = {"softmax": PAPER["softmax_sink1"].value, "x": np.nan}')
    assert not typed_paper_numbers('paper = pd.DataFrame({"S": [PAPER[k].value for k in keys]}, index=[0, 1])')
    assert not typed_paper_numbers('PAPER_K = {n: tuple(PAPER[f"t1_{k}"].value / 1000 for k in (1, 2, 3)) for n in x}')
    assert not typed_paper_numbers('claims.check("x", "s", v, "<", 1.0, paper="n/a (the paper\'s judge is GPT-4o)")')
    assert not typed_paper_numbers('claims.report("x", "s", v, paper="unrelated concepts kept (FID/CLIP, Tab. 3)")')
    assert not typed_paper_numbers('claims.report("x", "s", v, paper=f"{PAPER[\'c\'].value:g}× with 4-bit weights")')
    assert typed_paper_numbers('claims.report("x", "s", v, paper="86.5 − 76.9 = 9.6 (Table 2)")')


@pytest.mark.parametrize("src", NOTEBOOKS, ids=NB_IDS)
def test_no_paper_number_typed_in_code(src):
    bad = {i: typed_paper_numbers(s) for i, s in _cells(src, "code")}
    bad = {i: b for i, b in bad.items() if b}
    assert not bad, f"paper numbers typed in code cells (put them in lib/<paper>/paper.py): {bad}"


# --------------------------------------------------------------------------------------------------------
# (c) no number typed in prose
#
# The reviewed allow-list: what a Markdown cell may contain as digits without glue.
ALLOWED = {
    "glue references": r"\{glue(?::\w+)?\}`[^`]*`",
    "cross-references ({doc}, {ref}, {numref}, {eq}, {download})": r"\{(?:doc|ref|numref|download|eq)\}`[^`]*`",
    "fenced code and directives (commands, literalinclude options)": r"(?ms)^(```|~~~).*?^\1\s*$",
    "display math": r"(?s)\$\$.*?\$\$",
    "inline math": r"\$[^$\n]+\$",
    "inline code (names, files, options)": r"`[^`\n]*`",
    "link targets and URLs": r"\]\([^)]*\)|https?://\S+",
    "arXiv ids": r"(?i)\barXiv[: ]?\s*\d{4}\.\d{4,5}(?:v\d+)?",
    "section, table, figure, equation, appendix, algorithm, variant, approach, experiment, line and "
    "notebook numbers": r"(?:\b|(?=§))(?i:Tables?|Tab\.|Figures?|Figs?\.|Sections?|Sec\.|§|Eqs?\.|Equations?|"
                        r"Appendix|App\.|Algorithm|Alg\.|Variants?|Approach(?:es)?|Chapters?|notebooks?|"
                        r"Experiments?|lines?)\s*\(?[A-Z]?\d+(?:\.\d+)*\)?"
                        r"(?:\s*(?:[–,/-]|and|or)\s*[A-Z]?\d+(?:\.\d+)*)*",
    "years of citations (Author 2016, et al. 2023, (2024), NeurIPS 2024)":
        r"\b[A-Z][a-z]+,?\s+(?:19|20)\d\d\b|(?:et al\.?,?|&\s*\w+,?)\s*(?:\(|,\s*)?(?:19|20)\d\d\b|"
        r"\((?:19|20)\d\d\)|\b(?:NeurIPS|ICLR|ICML|ICCV|ACL|EMNLP|TMLR|CVPR)\s*(?:19|20)\d\d",
    "model sizes as names (60M Llama, the 1.1B MDM, 70B), not counts of parameters/tokens/characters":
        r"(?<![\w.])\d+(?:\.\d+)?[MB](?![\w])(?![- ](?:parameters?|characters?|tokens?|chars?)\b)",
    "n-gram orders (4-grams)": r"\b\d+-grams?\b",
    "grid shapes (8×8, 2×2×2)": r"\b\d+(?:\s*×\s*\d+)+\b",
    "identifiers with digits (GPT-3, Llama-2, A100, Sink₁, pz-vbc, 1e-3 inside names)":
        r"[A-Za-z_][\w.]*[A-Za-z_-]\d[\w.]*|\b[A-Za-z]+-?\d+[A-Za-z]*\b",
}
_ALLOWED = [re.compile(p) for p in ALLOWED.values()]
_HEADING_NUMBER = re.compile(r"(?m)^(#+\s*)\d+(?:\.\d+)*")
_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:[.,]\d+)*(?:e[-+−]?\d+)?")
#: in math, numbers with three or more decimals are paper constants, not equation constants: glue them
_PRECISE_IN_MATH = re.compile(r"\d+\.\d{3,}")


def prose_numbers(markdown: str) -> list[str]:
    """Numeric literals in a Markdown cell that are neither glued nor on the allow-list."""
    math = re.findall(r"(?s)\$\$.*?\$\$|\$[^$\n]+\$", markdown)
    found = [m for part in math for m in _PRECISE_IN_MATH.findall(part)]
    text = _HEADING_NUMBER.sub(r"\1", markdown)
    for pattern in _ALLOWED:
        text = pattern.sub(" ", text)
    return found + _NUMBER.findall(text)


def test_prose_number_detector():
    # flagged: typed measurements, paper numbers, parameters and thresholds
    assert prose_numbers("The paper's 1.1B MDM answers 92 % of the reverse queries.") == ["92"]
    assert prose_numbers("Over seeds 0–3 we measured 9.6, 8.8 and 4.9 mHa.") == ["0", "3", "9.6", "8.8", "4.9"]
    assert prose_numbers("trained for 1600 steps (threshold 0.5)") == ["1600", "0.5"]
    assert prose_numbers("a 0.3M-parameter Llama on 2M characters") == ["0.3", "2"]
    assert prose_numbers("Published: $K_1 = -2.4847$ and $\\alpha_2 = 0.4164$.") == ["2.4847", "0.4164"]
    assert prose_numbers("the paper's 43K and 216K") == ["43", "216"]
    # allowed
    assert not prose_numbers("MDM reverse accuracy {glue:text}`mdm_rev:.2f` (paper: {glue:text}`paper_x`)")
    assert not prose_numbers("Table 5 and Fig. 2a, Sec. 4.2.3, eq. (4), §4, App. A.5, Algorithm 1, line 6")
    assert not prose_numbers("Nie et al. (arXiv 2410.18514, ICLR 2025); Russo 2016; Wu & Liu 2016")
    assert not prose_numbers("an 8×8 grid, a 2×2×2 k-grid, GPT-3 175B, Llama-2, A100, the 60M Llama")
    assert not prose_numbers("$$L = e^{\\beta} C^{\\alpha}, \\quad \\alpha \\approx 0.07$$ with $T = 64$")
    assert not prose_numbers("```bash\npython -m lib.run 00_intro -p steps=2000\n```\nsee {doc}`03_smdm/index`")
    assert not prose_numbers("## 2. Results\nrun `-p steps=20` or [this](https://x.org/a/2411.05033)")
    assert not prose_numbers("sentence BLEU (nltk, 4-grams) in notebooks 2 and 3")


@pytest.mark.parametrize("src", NOTEBOOKS, ids=NB_IDS)
def test_no_typed_numbers_in_prose(src):
    bad = {i: n for i, s in _cells(src, "markdown") if (n := prose_numbers(s))}
    assert not bad, ("numbers typed in Markdown (glue them from the run, or from lib/<paper>/paper.py with "
                     f"glue_paper): {bad}")
