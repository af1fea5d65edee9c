"""Cost of KnowledgeGraph.load(validate=True) (the default) against validate=False, on a random graph.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/security/kg_load_validate.py 1000000 5000000

Saves a random graph of E entities and T triples (200 relations) to a temporary directory, then
times (3 rounds each, seconds) the load, the first use of both CSR indexes (checked then when
validating) and the fingerprint (recomputed from the files when validating). Prints one JSON line
with the load average. The same figures for ConceptNet-100K come from ``benchmarks/kg/bench_kg.py``
(its ``load`` case records ``trusted_*`` and ``validate_*`` times).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def main() -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from kglm.kg.graph import KnowledgeGraph

    E = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    T = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
    rng = np.random.default_rng(0)
    triples = np.stack([rng.integers(0, E, T), rng.integers(0, 200, T), rng.integers(0, E, T)], 1)
    names = [f"E{i}" for i in range(E)]
    kg = KnowledgeGraph._from_parts(names, [f"r{i}" for i in range(200)], torch.from_numpy(triples),
                                    torch.arange(E + 1), names)
    out: dict[str, object] = {"entities": E, "triples": T, "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        kg.save(f"{tmp}/kg")
        for validate in (False, True):
            tag = "validate" if validate else "trusted"
            load, csr, fp = [], [], []
            for _ in range(3):
                t = time.perf_counter()
                g = KnowledgeGraph.load(f"{tmp}/kg", validate=validate)
                load.append(time.perf_counter() - t)
                t = time.perf_counter()
                g.csr("out"), g.csr("in")
                csr.append(time.perf_counter() - t)
                t = time.perf_counter()
                _ = g.fingerprint
                fp.append(time.perf_counter() - t)
            out[f"{tag}_load_s"] = [round(x, 3) for x in load]
            out[f"{tag}_first_csr_s"] = [round(x, 3) for x in csr]
            out[f"{tag}_fingerprint_s"] = [round(x, 3) for x in fp]
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
