"""Datasets of chapter 01_dft: the pseudopotentials (Debian's quantum-espresso-data also installs them)."""
from lib.book.data import Dataset, register

# Norm-conserving LDA pseudopotentials as Debian's quantum-espresso-data 6.7 ships them (GPL-2).
register("Si.pz-vbc.UPF", Dataset(
    "pseudopotentials/Si.pz-vbc.UPF",
    "https://pseudopotentials.quantum-espresso.org/upf_files/Si.pz-vbc.UPF",
    "da7386b1345863effd34d47c07894a620d12e87069a009b5eaa2a88da7ea8105", "GPL-2.0",
    local=("/usr/share/espresso/pseudo/Si.pz-vbc.UPF",)))
register("Al.pz-vbc.UPF", Dataset(
    "pseudopotentials/Al.pz-vbc.UPF",
    "https://pseudopotentials.quantum-espresso.org/upf_files/Al.pz-vbc.UPF",
    "abdcda76be0d4b84660c341d65ef7f81e86120c55f204773f43716eaf7dd0597", "GPL-2.0",
    local=("/usr/share/espresso/pseudo/Al.pz-vbc.UPF",)))
