"""The set-up the README promises: CPU torch by pip's own rules, one variable for CUDA, CI = README command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _make_dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(["make", "-n", "-B", "install", "VENV=/nonexistent/venv", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def test_pip_picks_the_cpu_wheel_by_its_own_rules() -> None:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    pin = SpecifierSet("==2.13.0")
    assert pin.contains("2.13.0+cpu") and pin.contains("2.13.0")  # the pin accepts both builds
    assert Version("2.13.0+cpu") > Version("2.13.0")  # and pip takes the highest: the CPU wheel


def test_makefile_installs_cpu_torch_and_cuda_is_one_variable() -> None:
    cpu = _make_dry_run()
    line = next(x for x in cpu.splitlines() if "torch==" in x and "pip install" in x)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in line
    assert "--index-url " not in line.replace("--extra-index-url", "")  # PyPI and local wheels stay reachable
    assert re.search(r"--retries [01]\b", line) and "--timeout" in line  # a dead index cannot stall it
    cuda = next(x for x in _make_dry_run("KGLM_TORCH=cuda").splitlines() if "torch==" in x and "pip install" in x)
    assert "download.pytorch.org" not in cuda
    cu128 = next(x for x in _make_dry_run("KGLM_TORCH=cu128").splitlines() if "torch==" in x and "pip install" in x)
    assert "--extra-index-url https://download.pytorch.org/whl/cu128" in cu128


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test   # the test suite" in readme
    ci = [x.strip() for x in (ROOT / ".ci/run").read_text().splitlines() if x.strip() and not x.startswith("#")]
    assert ci[-1] == "make test"


def test_license_metadata_is_spdx() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib")
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "Apache-2.0"  # a string: no setuptools deprecation banner
    assert (ROOT / meta["project"]["license-files"][0]).is_file()
    build = " ".join(meta["build-system"]["requires"])
    assert re.search(r"setuptools>=(7[7-9]|[89]\d)", build)  # PEP 639 license strings need setuptools >= 77
