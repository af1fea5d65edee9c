"""Memory of loading grounding-cache entries (``GroundedDataset.load``).

Each entry under ``CACHE/grounding/`` is loaded in a fresh subprocess, which reports its
resident memory after the load (``VmRSS``), its peak (``VmHWM``), the interpreter's own
resident memory before the load, the number of mentions and the load time. A SWAG-length
data set linked against ConceptNet-100K + WordNet holds millions of mentions, so this is
what bounds how many training processes fit on one machine.

    python benchmarks/grounding/bench_cache_memory.py --cache-dir .kglm_cache [--min-mb 100]

The same command on an older checkout measures that code's loader (the script uses only
``GroundedDataset.load``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

_CHILD = r"""
import json, sys, time
def status(key):
    text = open('/proc/self/status').read()
    return int(text.split(key + ':')[1].split()[0]) // 1024
from kglm.grounding.cache import GroundedDataset
base = status('VmRSS')
t0 = time.perf_counter()
data = GroundedDataset.load(sys.argv[1], verify=False)
seconds = time.perf_counter() - t0
mentions = sum(len(c.question_mentions) + len(c.answer_mentions) for ex in data.grounded for c in ex)
print(json.dumps({"rss_mb": status('VmRSS'), "peak_mb": status('VmHWM'), "interpreter_mb": base,
                  "mentions": mentions, "choices": sum(len(ex) for ex in data.grounded), "load_s": round(seconds, 1)}))
"""


def measure(entry: Path) -> dict[str, object]:
    """Load one cache entry in a fresh interpreter and return its figures."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(_common.ROOT))
    done = subprocess.run([sys.executable, "-c", _CHILD, str(entry)], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=_common.ROOT / ".kglm_cache")
    parser.add_argument("--min-mb", type=float, default=100.0, help="only entries whose grounded.json is this large")
    _common.add_common_args(parser)
    args = parser.parse_args(argv)

    entries = sorted(p.parent for p in (args.cache_dir / "grounding" / "grounding").glob("*/grounded.json")
                     if p.stat().st_size >= args.min_mb * 1e6)
    if not entries:
        raise SystemExit(f"{args.cache_dir}: no grounding cache entry of {args.min_mb:g} MB or more")
    _, out = _common.resolve(args, "cache-memory")
    rows = []
    for entry in entries:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        rows.append({"data_file": meta.get("data_file"),
                     "json_mb": round((entry / "grounded.json").stat().st_size / 1e6), **measure(entry)})
    head = _common.header(argv)  # its machine record carries the load average after the run and the commit
    lines = ["# Grounding cache: memory of a load", "",
             f"`{head['command']}` at commit {head['machine'].get('git_commit')}, {head['date']}; 1-minute load "
             f"average after the run {head['machine'].get('load_average')}", "",
             "| data file | JSON (MB) | choices | mentions | resident after load (MB) | above the interpreter (MB) "
             "| peak (MB) | load (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['data_file']} | {r['json_mb']} | {r['choices']:,} | {r['mentions']:,} | {r['rss_mb']:,} "
                     f"| {r['rss_mb'] - r['interpreter_mb']:,} | {r['peak_mb']:,} | {r['load_s']} |")
    _common.write(out, "cache_memory", {**head, "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
