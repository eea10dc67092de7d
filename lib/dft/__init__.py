"""Chapter 01_dft: a small plane-wave Kohn–Sham LDA code in JAX, and the direct free-energy minimisation of
Li, Lin, Dale, Shi, Castro Neto, Novoselov & Vignale, "Diagonalization without Diagonalization: A Direct
Optimization Approach for Solid-State Density Functional Theory" (arXiv:2411.05033).

Modules: ``crystal`` (structures, k-grids, band paths), ``upf`` (pseudopotentials), ``basis`` (plane waves),
``ewald`` (the ion–ion energy), ``energy`` (the Kohn–Sham free energy), ``hamiltonian`` (the one H·ψ
that every solver and diagnostic uses), ``occupation`` (the paper's QR occupation projector), ``minimize``
(the optimiser with temperature annealing), ``analysis`` (self-diagonalisation metrics), ``scf`` (classical
SCF baseline), ``bands`` (band structures by trace minimisation) and ``qe`` (the Quantum ESPRESSO reference).
Hartree atomic units throughout; float64 is switched on inside the entry points only (``units.float64``).
"""
from lib.core.plot import register_colors
from lib.dft import datasets  # noqa: F401  (registers the chapter's files)

register_colors({"scf": "#1f77b4", "direct": "#d62728", "qe": "#2ca02c"})
