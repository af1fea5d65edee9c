"""What the kg and models benchmark scripts share: where data comes from, where results go,
and what the machine's load says about the timings.

* Data: ``$KGLM_DATA_DIR``, else ``../shared/data`` next to the repository.
* Output: a fresh run directory ``runs/benchmarks/<name>-<UTC time>/`` (git-ignored) unless
  ``--out DIR`` or ``--update-committed`` (the committed files beside the script) is given,
  so a trial run never overwrites the committed results.
* Load: the 1-minute load average before and after the run, read against the core count,
  instead of a fixed remark.
* Results: ``STEM.json`` plus ``STEM.md`` in the output directory, the markdown also printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "data_dir", "add_output_args", "output_dir", "load_note", "peak_rss_mb", "write_report"]


def data_dir() -> Path:
    """``$KGLM_DATA_DIR``, else ``../shared/data`` next to the repository."""
    return Path(os.environ.get("KGLM_DATA_DIR") or ROOT.parent / "shared" / "data")


def add_output_args(parser: argparse.ArgumentParser) -> None:
    """``--out DIR`` and ``--update-committed``."""
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: a new runs/benchmarks/NAME-<UTC time>/ directory)")
    parser.add_argument("--update-committed", action="store_true",
                        help="write the committed results beside this script (only for a full, deliberate run)")


def output_dir(args: argparse.Namespace, name: str, committed: Path) -> Path:
    """Where a run writes: ``committed`` with ``--update-committed``, ``--out``, else a fresh run directory."""
    if args.update_committed:
        out = committed
    elif args.out is not None:
        out = Path(args.out)
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = ROOT / "runs" / "benchmarks" / f"{name}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_note(before: float, after: float, cores: int) -> str:
    """A sentence on the 1-minute load average around a run, computed from the numbers."""
    worst = max(before, after)
    verdict = (
        "near idle" if worst < 0.5 * cores
        else "busy: other work competed for the cores, so timings are upper bounds"
    )
    return f"1-minute load average {before:.2f} before and {after:.2f} after the run on {cores} cores: {verdict}"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (``ru_maxrss``: KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_report(out: Path, stem: str, data: dict[str, Any], markdown: str, *, ensure_ascii: bool = True) -> None:
    """Write ``STEM.json`` (``data``, indented) and ``STEM.md`` into ``out``, print the markdown
    on stdout and where both went on stderr."""
    (out / f"{stem}.json").write_text(json.dumps(data, indent=2, ensure_ascii=ensure_ascii) + "\n", encoding="utf-8")
    (out / f"{stem}.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"written to {out / stem}.json and .md", file=sys.stderr)
