"""Path search on two hubs joined through many middle nodes: time and peak memory with and without
the per-pair expansion cap (``max_expansions_per_pair``, default 250,000).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/security/path_cap.py 2000 250000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/security/path_cap.py 2000 none

Prints one line: spokes, cap, paths found, seconds, peak RSS growth (MiB), load average.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import warnings


def main() -> None:
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    from kglm.grounding.paths import find_paths
    from kglm.kg.graph import KnowledgeGraph

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    cap = None if len(sys.argv) > 2 and sys.argv[2] == "none" else int(sys.argv[2]) if len(sys.argv) > 2 else 250_000
    names = ["h0", "h1"] + [f"m{i}" for i in range(n)]
    triples = []
    for i in range(n):
        triples += [[0, 0, 2 + i], [2 + i, 0, 1], [2 + i, 0, 2 + (i + 1) % n], [2 + i, 0, 2 + (i * 7 + 3) % n]]
    kg = KnowledgeGraph(names, ["r"], triples)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    p = find_paths(kg, [0], [1], max_hops=5, max_paths_per_pair=None, max_expansions_per_pair=cap)
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(f"spokes={n} cap={cap} paths={p.num_paths} seconds={time.perf_counter() - t:.2f} "
          f"peak_rss_growth_mib={growth:.0f} load={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
