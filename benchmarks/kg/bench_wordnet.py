"""Benchmark of kglm.kg.wordnet: build time and peak memory for all 117,659 WordNet 3.0 synsets,
then save and (memory-mapped) load time.

Each case runs in a fresh subprocess, so its peak RSS is that case's alone; the RSS after
importing torch and kglm is reported too (``rss_after_imports_mib``), the build's own share is
the difference.

Usage::

    .venv/bin/python benchmarks/kg/bench_wordnet.py     # writes runs/benchmarks/wordnet-<time>/wordnet_results.*
    .venv/bin/python benchmarks/kg/bench_wordnet.py --update-committed   # benchmarks/kg/wordnet_results.*

The WordNet files are looked up in ``$KGLM_DATA_DIR/wordnet``, else ``../shared/data/wordnet``
(relative to the repository), or ``--wordnet DIR``; the script exits with a note when they are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from _output import add_output_args, data_dir, load_note, output_dir, peak_rss_mb, write_report  # noqa: E402

WORDNET = data_dir() / "wordnet"
HERE = Path(__file__).resolve().parent


def run_case(case: str, wordnet: str, out: str) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from kglm.kg import KnowledgeGraph
    from kglm.kg.wordnet import from_wordnet

    r: dict[str, Any] = {"case": case, "rss_after_imports_mib": round(peak_rss_mb(), 1)}
    t = time.perf_counter()
    if case == "build":
        kg = from_wordnet(wordnet)
        r["build_s"] = round(time.perf_counter() - t, 3)
        r.update(num_entities=kg.num_entities, num_relations=kg.num_relations, num_triples=kg.num_triples,
                 num_labels=kg.num_labels, num_descriptions=kg.num_descriptions,
                 lexical_pointers=kg.metadata["lexical_pointers"],
                 dropped_duplicates=kg.metadata["dropped_duplicates"])
        r["peak_rss_build_mib"] = round(peak_rss_mb(), 1)
        t = time.perf_counter()
        kg.save(out)
        r["save_s"] = round(time.perf_counter() - t, 3)
        r["saved_mib"] = round(sum(p.stat().st_size for p in Path(out).iterdir()) / 2**20, 1)
    elif case == "load":
        kg = KnowledgeGraph.load(out, mmap=True)
        r["load_s"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        dog = kg.entity_id("wn:02084071-n")
        r["first_entity_lookup_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        desc = kg.descriptions_of(dog)
        r["first_descriptions_access_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        examples = kg.attribute("examples")[dog]
        r["first_attribute_access_s"] = round(time.perf_counter() - t, 3)
        r["dog"] = {"labels": kg.labels_of(dog), "description": desc[0], "examples": examples}
        r["fingerprint"] = kg.fingerprint
    else:
        raise ValueError(f"unknown case {case!r}")
    r["peak_rss_mib"] = round(peak_rss_mb(), 1)
    return r


def _child(case: str, wordnet: Path, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--case", case, "--wordnet", str(wordnet), "--out-dir", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=REPO, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - start, 3)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wordnet", type=Path, default=WORDNET, help="WordNet database directory")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    add_output_args(ap)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, str(args.wordnet), args.out_dir)))
        return 0
    if not (args.wordnet / "data.noun.bz2").exists() and not (args.wordnet / "data.noun").exists():
        print(f"skipped: no WordNet files in {args.wordnet}")
        return 0
    from kglm.utils.machine import machine_info

    out_dir = output_dir(args, "wordnet", HERE)
    machine = machine_info()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "wordnet"
        build = _child("build", args.wordnet, out)
        load = _child("load", args.wordnet, out)
    results = {
        "command": "OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/kg/bench_wordnet.py",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": str(args.wordnet.relative_to(REPO.parent) if args.wordnet.is_relative_to(REPO.parent) else args.wordnet),
        "machine": machine,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "build": build,
        "load": load,
    }
    results["note"] = load_note(load_before[0], results["load_average_after"][0], machine.get("cpu_count") or 1)
    b, lo = build, load
    md = [
        "# WordNet 3.0 builder benchmark",
        "",
        f"Command: `{results['command']}` ({results['date_utc']}, commit {machine.get('git_commit')}).",
        f"Machine: {machine.get('cpu')}, {machine.get('cpu_count')} cores, torch {machine.get('torch')}, "
        f"Python {machine.get('python')}; load average before/after {load_before} / {results['load_average_after']} "
        f"({results['note']}).",
        "",
        "| what | value |",
        "|---|---|",
        f"| synsets (entities) | {b['num_entities']:,} |",
        f"| relations / triples | {b['num_relations']} / {b['num_triples']:,} |",
        f"| labels / descriptions | {b['num_labels']:,} / {b['num_descriptions']:,} |",
        f"| lexical pointers read / duplicate synset triples dropped | {b['lexical_pointers']:,} / {b['dropped_duplicates']:,} |",
        f"| build time (`from_wordnet`, bz2 files) | {b['build_s']:.1f} s |",
        f"| peak RSS after build (after imports) | {b['peak_rss_build_mib']:.0f} MiB ({b['rss_after_imports_mib']:.0f} MiB) |",
        f"| save time / size on disk | {b['save_s']:.2f} s / {b['saved_mib']} MiB |",
        f"| load time (mmap) | {lo['load_s'] * 1000:.1f} ms |",
        f"| first `entity_id` / `descriptions_of` / `attribute` access (lazy parse) | "
        f"{lo['first_entity_lookup_s']:.2f} s / {lo['first_descriptions_access_s']:.2f} s / {lo['first_attribute_access_s']:.2f} s |",
        f"| peak RSS of the load process | {lo['peak_rss_mib']:.0f} MiB |",
        "",
    ]
    write_report(out_dir, "wordnet_results", results, "\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
