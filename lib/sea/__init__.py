"""Chapter 02_sea: SEA, sample-efficient alignment as a contextual dueling bandit (Liu et al.,
arXiv 2411.01493). ``dueling`` (epistemic reward models and Thompson-sampling pair selection),
``alignment`` (the linear dueling bandit, the tabular Bradley–Terry task, the online loop on tables and
on causal LMs), ``text`` (the TL;DR setting by hub names)."""
from lib.core.plot import register_colors

register_colors({"dpo": "#1f77b4", "ipo": "#ff7f0e", "slic": "#9467bd", "sea": "#d62728",
                 "sea_greedy": "#7f7f7f", "sea_uncertainty": "#17becf", "xpo": "#bcbd22", "apl": "#2ca02c",
                 "sea_mpl": "#8c564b"})
