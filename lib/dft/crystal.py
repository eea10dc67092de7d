"""Crystals, Γ-centred k-point grids and band paths (ASE for structures and special points).

The paper's systems (Li et al. 2024, arXiv:2411.05033, Sec. "Results"): diamond silicon and fcc aluminium.
Lengths in bohr, k-points in bohr⁻¹ (Cartesian, including the 2π)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOHR_ANGSTROM: float = 0.529177210903


@dataclass(frozen=True)
class Crystal:
    """A periodic crystal: ``cell`` (3, 3) lattice vectors as rows (bohr), ``positions`` (n_atoms, 3)
    Cartesian (bohr), ``species`` one element symbol per atom, and a ``name``."""
    cell: np.ndarray
    positions: np.ndarray
    species: tuple[str, ...]
    name: str = ""

    @property
    def volume(self) -> float:
        """Cell volume Ω in bohr³."""
        return float(abs(np.linalg.det(self.cell)))

    @property
    def reciprocal(self) -> np.ndarray:
        """Reciprocal lattice vectors as rows, (3, 3) in bohr⁻¹ (b_i · a_j = 2π δ_ij)."""
        return 2 * np.pi * np.linalg.inv(self.cell).T


def from_ase(atoms, name: str = "") -> Crystal:
    """A :class:`Crystal` from an ``ase.Atoms`` (Å → bohr)."""
    return Crystal(np.asarray(atoms.cell[:], float) / BOHR_ANGSTROM,
                   np.asarray(atoms.positions, float) / BOHR_ANGSTROM,
                   tuple(atoms.get_chemical_symbols()), name)


def builtin(name: str) -> Crystal:
    """The chapter's crystals at QE's example lattice constants: ``"si"`` (diamond, a = 10.26 bohr,
    2 atoms) or ``"al"`` (fcc, a = 7.65 bohr, 1 atom)."""
    from ase.build import bulk
    if name == "si":
        return from_ase(bulk("Si", "diamond", a=10.26 * BOHR_ANGSTROM), "si")
    if name == "al":
        return from_ase(bulk("Al", "fcc", a=7.65 * BOHR_ANGSTROM), "al")
    raise ValueError(f"crystal name must be 'si' or 'al', got {name!r}")


def kgrid(crystal: Crystal, mesh: tuple[int, int, int]) -> np.ndarray:
    """The full Γ-centred n1×n2×n3 grid (no symmetry reduction, as QE's ``automatic n n n 0 0 0`` with
    ``nosym``), folded to (-½, ½] in fractional coordinates; returns (K, 3) Cartesian k in bohr⁻¹."""
    mesh = tuple(int(m) for m in mesh)
    if len(mesh) != 3 or min(mesh) < 1:
        raise ValueError(f"kmesh must be three positive integers, got {mesh!r}")
    frac = np.array([(i / mesh[0], j / mesh[1], k / mesh[2])
                     for i in range(mesh[0]) for j in range(mesh[1]) for k in range(mesh[2])])
    frac = frac - np.round(frac + 1e-12)
    return frac @ crystal.reciprocal


def band_path(crystal: Crystal, path: str, n_per_segment: int) -> tuple[np.ndarray, np.ndarray, list]:
    """k-points along a path of ASE special points, e.g. ``"LGX"`` or ``"GXWLGK"`` (G = Γ).

    Each segment gets ``n_per_segment`` points, the special points fall exactly on the grid and the
    last point closes the path. Returns (kpts (n, 3) bohr⁻¹, x (n,) path length in bohr⁻¹, ticks as
    [(x, label)])."""
    if n_per_segment < 1:
        raise ValueError(f"n_per_segment must be >= 1, got {n_per_segment}")
    from ase.cell import Cell
    special = Cell(crystal.cell).bandpath(npoints=0).special_points
    unknown = [p for p in path if p not in special]
    if len(path) < 2 or unknown:
        raise ValueError(f"path must be >= 2 letters from {sorted(special)}, got {path!r}")
    corners = [special[p] @ crystal.reciprocal for p in path]
    kpts = [corners[i] + (corners[i + 1] - corners[i]) * t
            for i in range(len(path) - 1) for t in np.arange(n_per_segment) / n_per_segment]
    kpts = np.array(kpts + [corners[-1]])
    x = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(kpts, axis=0), axis=1))])
    labels = ["Γ" if p == "G" else p for p in path]
    ticks = [(x[i * n_per_segment], labels[i]) for i in range(len(path))]
    return kpts, x, ticks
