"""The machine and library versions recorded with every benchmark and suite result, and
the one way a process sets how many CPU threads torch and the BLAS/OpenMP pools use."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["machine_info", "git_commit", "cpu_supports_bf16", "apply_threads"]


def apply_threads(threads: int | None) -> int:
    """Set torch's intra-op threads and the BLAS/OpenMP pools (threadpoolctl, when
    installed) to ``threads`` when it is given; return torch's thread count."""
    import torch

    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - optional
            pass
        else:
            threadpool_limits(int(threads))
    return torch.get_num_threads()


def git_commit(path: str | os.PathLike[str] | None = None) -> str | None:
    """The git commit of the checkout holding ``path`` (default: this package), with ``-dirty`` if modified."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "") if commit else None


def machine_info() -> dict[str, Any]:
    """The machine, its load and the library versions, for result files."""
    import torch
    import transformers

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        import torch_geometric

        info["torch_geometric"] = torch_geometric.__version__
    except ImportError:  # pragma: no cover
        pass
    from kglm import __version__

    info["kglm"] = __version__
    info["git_commit"] = git_commit()
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not Unix
        info["load_average"] = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:  # pragma: no cover - not Linux
        pass
    try:
        info["cpu_bf16"] = cpu_supports_bf16()
    except Exception:  # pragma: no cover
        info["cpu_bf16"] = None
    return info


def cpu_supports_bf16() -> bool:
    """Whether bf16 autocast on this CPU runs on native bf16 instructions.

    True when oneDNN (mkldnn) is available and the CPU has AVX512-BF16 or
    AMX-BF16 (Linux ``/proc/cpuinfo`` flags); without them torch emulates
    bf16 matmuls, which is slower than fp32.
    """
    import torch

    return bool(torch.backends.mkldnn.is_available()) and _cpu_has_bf16()


def _cpu_has_bf16() -> bool:
    """Whether the CPU has native bf16 instructions (AVX512-BF16 or AMX-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:  # pragma: no cover
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
