"""The Ewald sum: ion–ion energy of point charges in a periodic cell (Ha)."""
from __future__ import annotations

import numpy as np
from scipy.special import erfc


def ewald(cell: np.ndarray, positions: np.ndarray, charges: np.ndarray, eta: float = 0.5,
          n_shells: int = 6) -> float:
    """Ewald ion–ion energy (Ha) of point charges ``charges`` (n,) at ``positions`` (n, 3) bohr in a
    lattice ``cell`` (3, 3) bohr, with a neutralising background; η in bohr⁻¹ (0.5 with ±6 shells
    reproduces QE's "ewald contribution" to 1e-8 Ry for the chapter's crystals)."""
    cell, positions = np.asarray(cell, float), np.atleast_2d(np.asarray(positions, float))
    z = np.asarray(charges, float)
    vol = abs(np.linalg.det(cell))
    rec = 2 * np.pi * np.linalg.inv(cell).T
    rng = np.arange(-n_shells, n_shells + 1)
    t = np.array(np.meshgrid(rng, rng, rng, indexing="ij")).reshape(3, -1).T
    r_lat, g_lat = t @ cell, t @ rec
    g2 = np.sum(g_lat ** 2, 1)
    nz = g2 > 1e-12
    e = 0.0
    for i in range(len(z)):
        for j in range(len(z)):
            d = np.linalg.norm(positions[i] - positions[j] + r_lat, axis=1)
            m = d > 1e-10
            e += 0.5 * z[i] * z[j] * np.sum(erfc(eta * d[m]) / d[m])
            e += 0.5 * z[i] * z[j] * (4 * np.pi / vol) * np.sum(
                np.exp(-g2[nz] / (4 * eta ** 2)) / g2[nz] * np.cos(g_lat[nz] @ (positions[i] - positions[j])))
    e -= eta / np.sqrt(np.pi) * np.sum(z ** 2)
    e -= np.pi / (2 * vol * eta ** 2) * np.sum(z) ** 2
    return float(e)
