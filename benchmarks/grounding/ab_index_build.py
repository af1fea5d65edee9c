"""ConceptNet-100K linker index build: this tree against another, in alternation (A/B).

On a shared, loaded machine one build's CPU time varies by +-15% from run to run, so a
change to the index build is judged from several builds of each tree, run in turn
(before, after, before, after, ...), each in a fresh process with torch and BLAS on one
thread. Each build also saves its index, and the sha256 of the saved index files is
reported: the two trees must give the same index.

    git worktree add --detach /tmp/kglm-before <commit>
    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/grounding/ab_index_build.py \\
        --before /tmp/kglm-before --mode qagnn --pairs 4 --update-committed

Writes ``ab_index_build_<mode>.json`` / ``.md`` (committed with ``--update-committed``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

_CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import LexiconLinker
from kglm.linking.lemmatizer import get_lemmatizer
cn, mode, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
kg = KnowledgeGraph.from_conceptnet(cn)
lem = get_lemmatizer("spacy")
lem("warm up")
c, t = time.process_time(), time.perf_counter()
linker = LexiconLinker.from_kg(kg, lemmatizer=lem, show_progress=False, mode=mode)
cpu, wall = time.process_time() - c, time.perf_counter() - t
linker.save(out)
h = hashlib.sha256()
for p in sorted((out / "extras").rglob("*")):
    if p.is_file():
        h.update(p.relative_to(out).as_posix().encode())
        h.update(p.read_bytes())
print("RESULT " + json.dumps({"cpu_s": cpu, "wall_s": wall, "keys": linker.num_keys, "sha256": h.hexdigest()}))
"""


def _build(tree: Path, cn: Path, mode: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(cn), mode, tmp], env=env, capture_output=True, text=True, check=True
        )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common.add_common_args(p)
    p.add_argument("--before", required=True, help="the other tree (a git worktree of the commit to compare)")
    p.add_argument("--mode", default="qagnn", choices=["longest", "qagnn"])
    p.add_argument("--pairs", type=int, default=4, help="builds of each tree, run in alternation")
    args = p.parse_args(argv)
    data_dir, out = _common.resolve(args, "ab_index_build")
    cn = data_dir / "conceptnet" / "cn100k" / "train.txt"
    if not cn.exists():
        print(f"skipped: benchmark data not found ({cn})")
        return 0
    trees = {"before": Path(args.before).resolve(), "after": _common.ROOT}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for i in range(args.pairs):
        for name, tree in trees.items():
            r = _build(tree, cn, args.mode)
            r["load_1min"] = os.getloadavg()[0]
            runs[name].append(r)
            print(f"{i + 1}/{args.pairs} {name}: {r['cpu_s']:.2f} CPU s, sha256 {r['sha256'][:16]}", flush=True)

    def git(tree: Path) -> str:
        return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()  # fmt: skip

    summary = {
        name: {
            "tree_commit": git(trees[name]) + ("" if name == "before" else " (+ working tree)"),
            "cpu_s": [round(r["cpu_s"], 2) for r in rs],
            "median_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 2),
            "min_cpu_s": round(min(r["cpu_s"] for r in rs), 2),
            "sha256": sorted({r["sha256"] for r in rs}),
        }
        for name, rs in runs.items()
    }
    identical = len({r["sha256"] for rs in runs.values() for r in rs}) == 1
    result = {**_common.header(argv), "mode": args.mode, "pairs": args.pairs, "identical_index": identical,
              "summary": summary, "runs": runs, "date_end": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    b, a = summary["before"], summary["after"]
    md = "\n".join([
        f"# ConceptNet-100K index build, `{args.mode}` mode: A/B ({args.pairs} builds each, alternating)",
        "",
        f"{result['date']}; load average {result['machine'].get('load_average', '?')}; command: `{result['command']}`",
        "",
        "| tree | CPU s per build | median | best |",
        "|---|---|---:|---:|",
        f"| before ({b['tree_commit']}) | {', '.join(f'{x:.2f}' for x in b['cpu_s'])} | {b['median_cpu_s']:.2f} | {b['min_cpu_s']:.2f} |",  # noqa: E501
        f"| after ({a['tree_commit']}) | {', '.join(f'{x:.2f}' for x in a['cpu_s'])} | {a['median_cpu_s']:.2f} | {a['min_cpu_s']:.2f} |",  # noqa: E501
        "",
        f"Saved index files identical (sha256) across all builds: **{'yes' if identical else 'NO'}** "
        f"(`{a['sha256'][0][:16]}...`).",
        "",
    ])  # fmt: skip
    _common.write(out, f"ab_index_build_{args.mode}", result, md)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
