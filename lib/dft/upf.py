"""Norm-conserving pseudopotentials: a UPF reader (formats v1 and v2) and the radial Fourier transforms
that put them in a plane-wave basis, with Quantum ESPRESSO's quadrature so that energies agree with pw.x.

Local part (Hartree units, G ≠ 0; the erf term removes the −Z/r tail analytically):
    v(q) = 4π ∫ r (r v(r) + Z erf r) sin(qr)/q dr − 4πZ e^{−q²/4}/q²,
    v(0) = 4π ∫ r (r v(r) + Z) dr   (QE's "αZ" term; integrated to r = 10 bohr like QE).
Kleinman–Bylander projectors: β_l(q) = 4π ∫ r (r β_l(r)) j_l(qr) dr (UPF stores r·β(r)).
UPF energies are in Ry and are halved here. The paper's all-electron mode is a bare Coulomb potential
(:func:`coulomb`)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import erf, spherical_jn


@dataclass(frozen=True)
class Pseudo:
    """One species: valence charge ``z``, radial mesh ``r``/``rab`` (bohr), local potential ``vloc``
    (Ha, on ``r``), projectors ``betas`` [(l, n_points, r·β(r))], coupling ``dij`` (Ha, n_β × n_β);
    ``coulomb`` marks a bare −Z/r potential (no mesh)."""
    element: str
    z: float
    r: np.ndarray = field(repr=False)
    rab: np.ndarray = field(repr=False)
    vloc: np.ndarray = field(repr=False)
    betas: tuple = field(repr=False, default=())
    dij: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    coulomb: bool = False


def _floats(text: str) -> np.ndarray:
    return np.array(text.replace("D", "E").split(), float)


def _block(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", text, re.S)
    if m is None:
        raise ValueError(f"UPF file has no <{tag}> block")
    return m.group(1)


def read_upf(path: str | Path) -> Pseudo:
    """Read a norm-conserving UPF file, version 1 (``<PP_HEADER>`` as lines) or 2 (XML attributes).

    Returns a :class:`Pseudo` in Hartree units. Raises ValueError for ultrasoft/PAW files."""
    text = Path(path).read_text(errors="replace")
    return _read_v2(text) if re.search(r"<UPF\s+version", text) else _read_v1(text)


def _read_v2(text: str) -> Pseudo:
    hdr = re.search(r"<PP_HEADER(.*?)/>", text, re.S).group(1)
    attr = dict(re.findall(r'(\w+)="([^"]*)"', hdr))
    if attr.get("pseudo_type", "NC").strip() not in ("NC", "SL"):
        raise ValueError(f"only norm-conserving UPF is supported, got pseudo_type={attr['pseudo_type']!r}")
    r, rab = _floats(_block(text, "PP_R")), _floats(_block(text, "PP_RAB"))
    coulomb = attr.get("is_coulomb", "false").strip().lower() in ("true", "t", ".true.")
    vloc = np.zeros_like(r) if coulomb else _floats(_block(text, "PP_LOCAL")) / 2.0
    betas = []
    for m in re.finditer(r"<PP_BETA\.(\d+)([^>]*)>(.*?)</PP_BETA\.\d+>", text, re.S):
        l = int(re.search(r'angular_momentum="\s*(\d+)', m.group(2)).group(1))
        kk = re.search(r'cutoff_radius_index="\s*(\d+)', m.group(2))
        rb = _floats(m.group(3))
        betas.append((l, int(kk.group(1)) if kk else len(rb), rb))
    nb = len(betas)
    dij = _floats(_block(text, "PP_DIJ")).reshape(nb, nb) / 2.0 if nb else np.zeros((0, 0))
    return Pseudo(attr.get("element", "").strip(), float(attr["z_valence"]), r, rab, vloc,
                  tuple(betas), dij, coulomb)


def _read_v1(text: str) -> Pseudo:
    lines = [ln.split() for ln in _block(text, "PP_HEADER").strip().splitlines()]
    element = lines[1][0]
    if lines[2][0] not in ("NC", "SL"):
        raise ValueError(f"only norm-conserving UPF is supported, got {lines[2][0]!r}")
    z = float(next(ln[0] for ln in lines if "valence" in " ".join(ln)))
    r, rab = _floats(_block(text, "PP_R")), _floats(_block(text, "PP_RAB"))
    vloc = _floats(_block(text, "PP_LOCAL")) / 2.0
    betas = []
    for body in re.findall(r"<PP_BETA>(.*?)</PP_BETA>", text, re.S):
        rows = body.strip().splitlines()
        l = int(rows[0].split()[1])
        kk = int(rows[1].split()[0])
        values = _floats(" ".join(rows[2:]))[:kk]
        rb = np.zeros_like(r)
        rb[:kk] = values
        betas.append((l, kk, rb))
    nb = len(betas)
    dij = np.zeros((nb, nb))
    if nb:
        rows = _block(text, "PP_DIJ").strip().splitlines()
        for row in rows[1:1 + int(rows[0].split()[0])]:
            i, j, d = row.split()
            dij[int(i) - 1, int(j) - 1] = dij[int(j) - 1, int(i) - 1] = float(d.replace("D", "E")) / 2.0
    return Pseudo(element, z, r, rab, vloc, tuple(betas), dij, False)


def coulomb(z: float, element: str = "") -> Pseudo:
    """The paper's all-electron potential −Z/r (bare Coulomb, no projectors)."""
    if z <= 0:
        raise ValueError(f"z must be positive, got {z}")
    empty = np.zeros(0)
    return Pseudo(element, float(z), empty, empty, empty, (), np.zeros((0, 0)), True)


def simpson(f: np.ndarray, rab: np.ndarray) -> float:
    """QE's Simpson rule on a logarithmic mesh (uses an odd number of points)."""
    n = len(f) if len(f) % 2 == 1 else len(f) - 1
    g = f[:n] * rab[:n] / 3.0
    return float(np.sum(g[0:-1:2] + 4 * g[1::2] + g[2::2]))


def vloc_of_q(pp: Pseudo, q: np.ndarray) -> np.ndarray:
    """Local form factor v(q) (Ha·bohr³) at |q| values ``q`` (bohr⁻¹), QE conventions incl. q = 0."""
    q = np.asarray(q, float)
    if pp.coulomb:
        return np.where(q > 1e-8, -4 * np.pi * pp.z / np.where(q > 1e-8, q, 1.0) ** 2, 0.0)
    msh = int(np.searchsorted(pp.r, 10.0)) + 1
    msh = 2 * ((msh + 1) // 2) - 1
    r, rab, v, z = pp.r[:msh], pp.rab[:msh], pp.vloc[:msh], pp.z
    out = np.empty_like(q)
    for i, qi in enumerate(q):
        if qi < 1e-8:
            out[i] = 4 * np.pi * simpson(r * (r * v + z), rab)
        else:
            aux = (r * v + z * erf(r)) * np.sin(qi * r) / qi
            out[i] = 4 * np.pi * simpson(aux, rab) - 4 * np.pi * z * np.exp(-qi ** 2 / 4) / qi ** 2
    return out


def beta_of_q(pp: Pseudo, q: np.ndarray) -> list[np.ndarray]:
    """Projector form factors β_l(q) (one array like ``q`` per projector), bohr^{3/2}."""
    q = np.asarray(q, float)
    out = []
    for l, kk, rb in pp.betas:
        n = kk if kk % 2 == 1 else kk + 1
        r, rab = pp.r[:n], pp.rab[:n]
        out.append(np.array([4 * np.pi * simpson(rb[:n] * r * spherical_jn(l, qi * r), rab) for qi in q]))
    return out


_Z_ALL_ELECTRON = {"H": 1, "C": 6, "Al": 13, "Si": 14}
_QE_COULOMB = Path("/usr/share/espresso/pseudo/H.coulomb-ae.UPF")


def load(element: str, potential: str = "upf") -> tuple[Pseudo, Path]:
    """The chapter's potential for ``element``: ``"upf"`` = QE's ``<El>.pz-vbc.UPF`` via ``lib.book.data``;
    ``"coulomb"`` = the paper's all-electron −Z/r, plus a UPF file for pw.x made from QE's
    ``H.coulomb-ae.UPF`` with Z and the element replaced (needs the quantum-espresso-data package).
    Returns (pseudo, path of the UPF file for pw.x)."""
    from lib.book import data, paths
    if potential == "upf":
        path = data.get(f"{element}.pz-vbc.UPF")
        return read_upf(path), path
    if potential != "coulomb":
        raise ValueError(f"potential must be 'upf' or 'coulomb', got {potential!r}")
    if element not in _Z_ALL_ELECTRON:
        raise ValueError(f"element must be one of {sorted(_Z_ALL_ELECTRON)} for potential='coulomb', got {element!r}")
    z = _Z_ALL_ELECTRON[element]
    path = paths.CACHE / "01_dft" / f"{element}.coulomb-ae.UPF"
    if _QE_COULOMB.exists() and not path.exists():
        text = _QE_COULOMB.read_text()
        text = re.sub(r'z_valence="[^"]*"', f'z_valence="{z:.12e}"', text, count=1)
        text = re.sub(r'element="[^"]*"', f'element="{element:2s}"', text, count=1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return coulomb(z, element), path
