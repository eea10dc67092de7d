"""The numbers of *Diagonalization without Diagonalization* (Li, Lin, Dale, Shi, Castro Neto, Novoselov &
Vignale, arXiv 2411.05033) that the 01_dft notebooks quote or compare against.

No number of the paper's body could be retrieved (``../shared/research/paper_numbers.md`` §1): its abstract
confirms the systems (Al, Si), the comparison with Quantum ESPRESSO and the Fermi–Dirac occupations, and
the paper shows its agreement with QE as figures without quoted errors. The run settings below therefore
come from the official release's configs (``sail-sg/jrystal``, source "code"), and the paper's claims are
short statements of what its figures show (source "paper")."""
from lib.book.paper import PaperValue

PAPER = {
    # settings (jrystal configs)
    "ecut": PaperValue(100.0, "jrystal configs: plane-wave cutoff", "code", "Ha"),
    "kpts": PaperValue(3, "jrystal configs: Γ-centred k-grid per direction", "code"),
    "steps": PaperValue(10_000, "jrystal configs: Adam steps of the ground state", "code"),
    "lr": PaperValue(1e-3, "jrystal configs: Adam learning rate", "code"),
    "t0": PaperValue(100.0, "jrystal code: annealing starts at this temperature", "code", "Ha"),
    "temperature_si": PaperValue(0.01, "jrystal configs: Fermi–Dirac smearing for Si", "code", "Ha"),
    "temperature_al": PaperValue(0.001, "jrystal configs: Fermi–Dirac smearing for Al", "code", "Ha"),
    "extra_bands": PaperValue(14, "jrystal configs: bands beyond N_e/2", "code"),
    "al_cell_atoms": PaperValue(4, "jrystal configs: atoms of the conventional Al cell (the code takes no odd "
                                "electron count)", "code"),
    "band_steps_first": PaperValue(10_000, "jrystal band configs: Adam steps at the first k-point", "code"),
    "band_steps_next": PaperValue(400, "jrystal band configs: Adam steps at each next k-point", "code"),
    "band_points": PaperValue(60, "jrystal band configs: k-points on the band path", "code"),
    # what the paper shows (figures, no quoted numbers)
    "agree_qe": PaperValue("agreement with QE shown in figures", "abstract and figures"),
    "fd_occupations": PaperValue("occupations on the Fermi–Dirac curve", "occupation figures"),
    "self_diag": PaperValue("the Kohn–Sham matrix becomes diagonal (heat maps)", "self-diagonalisation figures"),
    "bands_overlay": PaperValue("band structures overlay QE's", "band-structure figures"),
}
