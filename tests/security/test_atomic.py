"""Class 6: atomic writes leave the old or the new content, never a gap or debris (kill -9 included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from kglm.kg.graph import KnowledgeGraph
from kglm.utils.io import atomic_directory, atomic_file, atomic_write, clean_debris

REPO = Path(__file__).resolve().parents[2]


def _graph(n: int) -> KnowledgeGraph:
    return KnowledgeGraph([f"e{i}" for i in range(n)], ["r"], [[i, 0, (i + 1) % n] for i in range(n)])


def _debris(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_kill_during_directory_write_leaves_old_and_debris_is_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "kg"
    _graph(5).save(target)
    script = textwrap.dedent(f"""
        import sys, time
        from kglm.utils.io import atomic_directory
        with atomic_directory({str(target)!r}) as tmp:
            (tmp / "kg.json").write_text("half-written")
            print("ready", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert KnowledgeGraph.load(target).num_entities == 5  # the old graph, whole
    assert len(_debris(tmp_path)) == 1  # the killed writer's temporary directory
    _graph(7).save(target)  # the next write to the same place cleans it
    assert _debris(tmp_path) == []
    assert KnowledgeGraph.load(target).num_entities == 7


def test_no_moment_without_the_target(tmp_path: Path) -> None:
    target = tmp_path / "kg"
    _graph(50).save(target)
    missing: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (target / "kg.json").exists():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(30):
            _graph(50 + i).save(target)
    finally:
        stop.set()
        watcher.join()
    assert missing == []
    assert _debris(tmp_path) == []


def test_extras_survive_a_resave_and_a_failed_one(tmp_path: Path) -> None:
    target = tmp_path / "kg"
    _graph(5).save(target)
    (target / "extras" / "linker").mkdir(parents=True)
    (target / "extras" / "linker" / "meta.json").write_text("{}")

    class Boom(RuntimeError):
        pass

    kg = _graph(6)
    original = kg._write_files

    def failing(out: Path) -> None:
        original(out)
        raise Boom

    kg._write_files = failing  # type: ignore[method-assign]
    with pytest.raises(Boom):
        kg.save(target)
    assert (target / "extras" / "linker" / "meta.json").read_text() == "{}"
    assert KnowledgeGraph.load(target).num_entities == 5
    _graph(6).save(target)
    assert (target / "extras" / "linker" / "meta.json").read_text() == "{}"
    assert KnowledgeGraph.load(target).num_entities == 6
    assert _debris(tmp_path) == []


def test_atomic_file_failure_and_debris(tmp_path: Path) -> None:
    target = tmp_path / "weights.safetensors"
    atomic_write(target, b"old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old" and _debris(tmp_path) == []
    # a dead process's leftover is removed by the next write; a live one's is not
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".weights.safetensors.tmp-{int(dead.stdout)}-deadbeef.safetensors"
    stale.write_bytes(b"x")
    live = tmp_path / f".weights.safetensors.tmp-{os.getppid()}-cafecafe.safetensors"
    live.write_bytes(b"x")
    with atomic_file(target) as tmp:
        assert tmp.suffix == ".safetensors"
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists() and live.exists()
    assert oct(target.stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    assert clean_debris(target) == []


def test_atomic_directory_keep(tmp_path: Path) -> None:
    target = tmp_path / "backbone"
    with atomic_directory(target) as tmp:
        (tmp / "config.json").write_text("first")
    with atomic_directory(target, if_exists="keep") as tmp:
        (tmp / "config.json").write_text("second")
    assert (target / "config.json").read_text() == "first" and _debris(tmp_path) == []


def test_no_hand_written_atomic_writes_left() -> None:
    """Every atomic write goes through kglm.utils.io: no os.replace / rename elsewhere in the package."""
    offenders = []
    for path in (REPO / "kglm").rglob("*.py"):
        if path.name == "io.py" and path.parent.name == "utils":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("os.replace(", "os.rename(", ".rename("):
            if needle in text:
                offenders.append(f"{path.relative_to(REPO)}: {needle}")
    assert offenders == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
