"""What every script in benchmarks/grounding shares: data location, output place, machine record.

* Data: ``--data-dir``, else ``$KGLM_DATA_DIR``, else ``../shared/data`` next to the repository.
* Output: a fresh run directory ``runs/grounding/<name>-<UTC time>/`` (git-ignored) unless
  ``--update-committed`` is given, which writes the committed files in ``benchmarks/grounding/``.
* Every result carries ``kglm.utils.machine.machine_info()`` (load average included), the
  command line and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def default_data_dir() -> Path:
    return Path(os.environ.get("KGLM_DATA_DIR") or ROOT.parent / "shared" / "data")


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="real data (default: $KGLM_DATA_DIR, else ../shared/data)")
    p.add_argument("--out", default=None, help="output directory (default: a new runs/grounding/... directory)")
    p.add_argument("--update-committed", action="store_true",
                   help="write the committed results in benchmarks/grounding/ instead of a run directory")


def resolve(args: argparse.Namespace, name: str) -> tuple[Path, Path]:
    """``(data dir, output dir)`` for a benchmark called ``name``."""
    data = Path(args.data_dir) if args.data_dir else default_data_dir()
    if args.update_committed:
        out = HERE
    elif args.out:
        out = Path(args.out)
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = ROOT / "runs" / "grounding" / f"{name}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    return data, out


def header(argv: list[str] | None) -> dict[str, Any]:
    from kglm.utils.machine import machine_info

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", os.path.relpath(sys.argv[0], ROOT), *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
    }


def write(out: Path, stem: str, result: dict[str, Any], markdown: str) -> None:
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(markdown)
    print(markdown)
    print(f"written to {out / stem}.json and .md")
