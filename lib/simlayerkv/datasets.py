"""Datasets of chapter 04_simlayerkv: LongBench's own prompt templates and answer lengths (the ``gpu``
profile's tasks; the samples themselves come from the hub, ``THUDM/LongBench``, on the GPU machine)."""
from lib.book.data import GH, Dataset, register

_LB = f"{GH}/THUDM/LongBench/2e00731"

register("longbench_dataset2prompt", Dataset(
    "longbench/LongBench/config/dataset2prompt.json", f"{_LB}/LongBench/config/dataset2prompt.json",
    "56d22ad4f382169c2b8a11ff4c982a4a1bea096c8152b0f0b85b64686b157c30", "MIT"))
register("longbench_dataset2maxlen", Dataset(
    "longbench/LongBench/config/dataset2maxlen.json", f"{_LB}/LongBench/config/dataset2maxlen.json",
    "72966b3c0933e214591637fb085798c5e687ebff4ddaab5d99bbc31120532022", "MIT"))
