"""What every script in benchmarks/grounding shares, on top of ``benchmarks/_output.py``.

* Data: ``--data-dir``, else ``benchmarks/_output.py``'s ``data_dir()`` (``$KGLM_DATA_DIR``,
  else ``../shared/data`` next to the repository).
* Output: ``_output.output_dir``: a fresh run directory ``runs/benchmarks/<name>-<UTC time>/``
  (git-ignored) unless ``--out DIR`` or ``--update-committed`` (the committed files in
  ``benchmarks/grounding/``) is given; results are written by ``_output.write_report``.
* Every result carries ``kglm.utils.machine.machine_info()`` (load average included), the
  command line and the date (:func:`header`).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _output import ROOT, data_dir, output_dir, peak_rss_mb, write_report  # noqa: E402

__all__ = ["HERE", "ROOT", "data_dir", "peak_rss_mb", "add_common_args", "resolve", "header", "write"]


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="real data (default: $KGLM_DATA_DIR, else ../shared/data)")
    p.add_argument("--out", default=None, help="output directory (default: a new runs/benchmarks/... directory)")
    p.add_argument("--update-committed", action="store_true",
                   help="write the committed results in benchmarks/grounding/ instead of a run directory")


def resolve(args: argparse.Namespace, name: str) -> tuple[Path, Path]:
    """``(data dir, output dir)`` for a benchmark called ``name``."""
    data = Path(args.data_dir) if args.data_dir else data_dir()
    return data, output_dir(args, name, HERE)


def header(argv: list[str] | None) -> dict[str, Any]:
    """Date, command line and machine record of a run."""
    from kglm.utils.machine import machine_info

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", os.path.relpath(sys.argv[0], ROOT), *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
    }


#: ``write(out, stem, result, markdown)``: ``STEM.json`` and ``STEM.md`` in ``out``, the markdown printed.
write = write_report
