"""Datasets of chapter 10_vocab_scaling: the paper's own IsoFLOP measurements."""
from lib.book.data import GH, Dataset, register

# Scaling-with-vocabulary fitting data (sail-sg/scaling-with-vocab; the repository has no licence file:
# the paper's published experimental results, used only to check our refits). 1,200 rows.
register("scaling_with_vocab_exp_data", Dataset(
    "scaling_with_vocab/exp_data.csv",
    f"{GH}/sail-sg/scaling-with-vocab/6701cc202af8b075a46eef8e9d263b3f2ebe012c/exp_data.csv",
    "6571e877469a44cb50b2d05e1fa485587369ee1c47941a4b3b2bfef80496f1b2", "none stated (paper data)"))
