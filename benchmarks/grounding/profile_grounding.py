"""cProfile of CSQA dev grounding against ConceptNet-100K (warm index, one process, one thread).

Profiles with a CPU-time clock (``time.process_time``), so that other jobs on a
shared machine do not inflate the figures, and writes the top functions by own
time to ``profile_<label>.txt``. ``profile_before.txt`` was made with this
script run on the tree before the speed work (commit c0b0abf, extracted with
``git archive`` and put first on ``PYTHONPATH``), ``profile_after.txt`` on the
tree that added this file.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/grounding/profile_grounding.py --label after \\
        [--mode longest] [--update-committed]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_common_args(p)
    p.add_argument("--label", required=True)
    p.add_argument("--mode", default="longest")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    data, out = _common.resolve(args, "profile")
    import torch

    torch.set_num_threads(1)
    import kglm
    from kglm.datasets.readers import read_csqa
    from kglm.grounding.ground import ground_examples
    from kglm.kg.graph import KnowledgeGraph
    from kglm.linking import LexiconLinker
    from kglm.utils.paths import cache_dir

    kg = KnowledgeGraph.from_conceptnet(data / "conceptnet" / "cn100k" / "train.txt")
    kg_dir = cache_dir() / "profile_grounding" / args.label
    kg.save(kg_dir) if not kg_dir.exists() else None
    kg = KnowledgeGraph.load(kg_dir)
    options = {"mode": args.mode} if args.mode != "longest" else {}
    LexiconLinker.load(kg_dir, kg=kg, lemmatizer="spacy", **options)  # build and save once
    linker = LexiconLinker.load(kg_dir, kg=kg, lemmatizer="spacy", **options)  # warm: from disk, fresh memo
    dev = read_csqa(data / "csqa" / "dev_rand_split.jsonl")
    linker("warm up")
    prof = cProfile.Profile(time.process_time)
    c = time.process_time()
    prof.enable()
    ground_examples(linker, dev, batch_size=512, show_progress=False)
    prof.disable()
    cpu = time.process_time() - c
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
    statements = sum(len(ex.choices) for ex in dev)
    head = (
        f"# {args.label}: kglm from {Path(kglm.__file__).parent}, mode {args.mode}\n"
        f"# {statements} statements, {cpu:.2f} CPU s under the profiler ({statements / cpu:,.0f} statements per CPU s)\n"
        f"# load average {os.getloadavg()}\n"
    )
    (out / f"profile_{args.label}.txt").write_text(head + buf.getvalue())
    print(head + buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
