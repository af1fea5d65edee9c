"""Downloads against a local HTTP server on 127.0.0.1 serving fixture files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kglm.cli import main
from kglm.datasets import read_csqa
from kglm.datasets.download import (
    DATASETS,
    prepare_conceptnet_100k,
    prepare_csqa_inhouse,
    URL_ENV,
    ArchiveMember,
    DatasetSource,
    DownloadError,
    RemoteFile,
    download_dataset,
    download_file,
    get_source,
    sha256_of,
)
from tests._http import LoopbackServer, serve

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = (FIXTURES / "csqa_sample.jsonl").read_bytes()
BIG = bytes(range(256)) * 1000  # 256,000 bytes: several read chunks


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with serve(LoopbackServer(files={"/sample.jsonl": SAMPLE, "/big.bin": BIG})) as state:
        yield state


# --------------------------------------------------------------------------- download_file


def test_full_download(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "sample.jsonl"
    result = download_file(server.url("/sample.jsonl"), dest, _sha(SAMPLE), progress=False)
    assert result == dest
    assert dest.read_bytes() == SAMPLE
    assert not (tmp_path / "sub" / "sample.jsonl.part").exists()
    assert server.seen() == [("/sample.jsonl", None)]
    assert [e.id for e in read_csqa(dest)] == ["fx-1", "fx-2", "fx-3"]


def test_resume_from_partial_file(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "big.bin"
    (tmp_path / "big.bin.part").write_bytes(BIG[:100_000])
    download_file(server.url("/big.bin"), dest, _sha(BIG), progress=False)
    assert server.seen() == [("/big.bin", "bytes=100000-")]
    assert dest.read_bytes() == BIG
    assert not (tmp_path / "big.bin.part").exists()


def test_server_without_range_support_restarts(server: LoopbackServer, tmp_path: Path) -> None:
    server.support_range = False
    dest = tmp_path / "big.bin"
    (tmp_path / "big.bin.part").write_bytes(b"x" * 5000)  # not even a prefix of the file
    download_file(server.url("/big.bin"), dest, _sha(BIG), progress=False)
    assert server.seen() == [("/big.bin", "bytes=5000-")]
    assert dest.read_bytes() == BIG


def test_partial_file_longer_than_remote_restarts(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "sample.jsonl"
    (tmp_path / "sample.jsonl.part").write_bytes(b"y" * (len(SAMPLE) + 10))
    download_file(server.url("/sample.jsonl"), dest, _sha(SAMPLE), progress=False)
    assert server.seen() == [("/sample.jsonl", f"bytes={len(SAMPLE) + 10}-"), ("/sample.jsonl", None)]
    assert dest.read_bytes() == SAMPLE


def test_checksum_mismatch_names_file_and_digests_and_removes_it(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "sample.jsonl"
    wrong = "0" * 64
    url = server.url("/sample.jsonl")
    with pytest.raises(DownloadError) as info:
        download_file(url, dest, wrong, progress=False)
    assert str(info.value) == (
        f"{dest}: checksum mismatch: expected sha256 {wrong}, got {_sha(SAMPLE)} "
        f"(downloaded from {url}); the file was removed"
    )
    assert not dest.exists()
    assert not (tmp_path / "sample.jsonl.part").exists()


def test_http_404(server: LoopbackServer, tmp_path: Path) -> None:
    url = server.url("/missing.jsonl")
    with pytest.raises(DownloadError) as info:
        download_file(url, tmp_path / "missing.jsonl", progress=False)
    assert str(info.value) == f"{url}: HTTP error 404 Not Found"
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(DownloadError, match=re.escape(f"{url}: cannot connect: ")):
        download_file(url, tmp_path / "x", progress=False, timeout=5)


def test_interrupted_transfer_keeps_part_and_resumes(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "big.bin"
    server.truncate_next = 70_000
    with pytest.raises(DownloadError, match=r"run again to resume from .*big\.bin\.part$"):
        download_file(server.url("/big.bin"), dest, _sha(BIG), progress=False)
    part = tmp_path / "big.bin.part"
    assert part.read_bytes() == BIG[:70_000]
    assert not dest.exists()
    download_file(server.url("/big.bin"), dest, _sha(BIG), progress=False)
    assert server.seen() == [("/big.bin", None), ("/big.bin", "bytes=70000-")]
    assert dest.read_bytes() == BIG


def test_existing_file_is_kept_or_replaced(server: LoopbackServer, tmp_path: Path) -> None:
    dest = tmp_path / "sample.jsonl"
    dest.write_bytes(SAMPLE)
    download_file(server.url("/sample.jsonl"), dest, _sha(SAMPLE), progress=False)
    download_file(server.url("/sample.jsonl"), dest, None, progress=False)
    assert server.seen() == []
    dest.write_bytes(b"stale")
    download_file(server.url("/sample.jsonl"), dest, _sha(SAMPLE), progress=False)
    assert dest.read_bytes() == SAMPLE
    download_file(server.url("/sample.jsonl"), dest, None, progress=False, force=True)
    assert server.seen() == [("/sample.jsonl", None), ("/sample.jsonl", None)]


def test_only_http_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only http:// and https:// URLs"):
        download_file("file:///etc/passwd", tmp_path / "x")


def test_progress_bar_goes_to_stderr(server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    download_file(server.url("/big.bin"), tmp_path / "big.bin", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "big.bin" in captured.err


# --------------------------------------------------------------------------- data sets


def _archives() -> tuple[bytes, bytes]:
    gz = gzip.compress(b"IsA\tdog\tanimal\t1\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Toy/Data/dev.jsonl", SAMPLE)
        zf.writestr("Toy/README", "ignored")
    return gz, buffer.getvalue()


def _toy_source(member_sha: str | None) -> DatasetSource:
    gz, zipped = _archives()
    return DatasetSource(
        name="toy",
        files=[
            RemoteFile("https://example.invalid/sample.jsonl", "sample.jsonl", _sha(SAMPLE)),
            RemoteFile("https://example.invalid/kb.txt.gz", "kb.txt.gz", _sha(gz), gunzip_to="kb.txt"),
            RemoteFile("https://example.invalid/toy.zip", "toy.zip", _sha(zipped),
                       extract=(ArchiveMember("Toy/Data/dev.jsonl", "dev.jsonl", member_sha),)),
        ],
        description="a toy data set",
    )


def _serve_toy(server: LoopbackServer) -> None:
    gz, zipped = _archives()
    server.files.update({"/mirror/toy/sample.jsonl": SAMPLE, "/mirror/toy/kb.txt.gz": gz,
                         "/mirror/toy/toy.zip": zipped})


def test_download_dataset_from_mirror_unpacks(server: LoopbackServer, tmp_path: Path) -> None:
    _serve_toy(server)
    paths = download_dataset(_toy_source(_sha(SAMPLE)), tmp_path / "toy",
                             url_base=server.url("/mirror/"), progress=False)
    assert paths == [tmp_path / "toy" / name for name in ("sample.jsonl", "kb.txt", "dev.jsonl")]
    assert (tmp_path / "toy" / "kb.txt").read_bytes() == b"IsA\tdog\tanimal\t1\n"
    assert (tmp_path / "toy" / "dev.jsonl").read_bytes() == SAMPLE
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == [
        "dev.jsonl", "kb.txt", "kb.txt.gz", "sample.jsonl", "toy.zip",
    ]
    assert [path for path, _ in server.seen()] == [
        "/mirror/toy/sample.jsonl", "/mirror/toy/kb.txt.gz", "/mirror/toy/toy.zip",
    ]
    # a second run finds everything in place and asks the server nothing
    assert download_dataset(_toy_source(_sha(SAMPLE)), tmp_path / "toy",
                            url_base=server.url("/mirror"), progress=False) == paths
    assert len(server.requests) == 3


def test_download_dataset_url_base_from_environment(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_toy(server)
    monkeypatch.setenv(URL_ENV, server.url("/mirror"))
    download_dataset(_toy_source(None), tmp_path, progress=False)
    assert [path for path, _ in server.seen()] == [
        "/mirror/toy/sample.jsonl", "/mirror/toy/kb.txt.gz", "/mirror/toy/toy.zip",
    ]


def test_archive_member_checksum_mismatch(server: LoopbackServer, tmp_path: Path) -> None:
    _serve_toy(server)
    with pytest.raises(DownloadError) as info:
        download_dataset(_toy_source("f" * 64), tmp_path, url_base=server.url("/mirror"), progress=False)
    assert str(info.value) == (
        f"{tmp_path / 'dev.jsonl'}: checksum mismatch: expected sha256 {'f' * 64}, got {_sha(SAMPLE)} "
        "(member Toy/Data/dev.jsonl of toy.zip); the file was removed"
    )
    assert not (tmp_path / "dev.jsonl").exists()


def test_registry() -> None:
    assert list(DATASETS) == ["csqa", "obqa", "swag", "conceptnet-100k"]
    for name, source in DATASETS.items():
        assert source.name == name and source.files and source.licence and source.description
        filenames = [f.filename for f in source.files]
        assert len(set(filenames)) == len(filenames)
        for remote in source.files:
            assert remote.url.startswith("https://") and remote.url.endswith(remote.filename)
            digests = [remote.sha256] + [m.sha256 for m in remote.extract]
            for digest in digests:
                assert digest is None or re.fullmatch(r"[0-9a-f]{64}", digest)
    assert [f.filename for f in get_source("csqa").files] == [
        "train_rand_split.jsonl", "dev_rand_split.jsonl", "test_rand_split_no_answers.jsonl",
        "inhouse_split_qids.txt",
    ]
    with pytest.raises(KeyError, match="unknown data set 'squad'; known: csqa, obqa, swag, conceptnet-100k"):
        get_source("squad")


@pytest.mark.parametrize(
    ("relative", "dataset", "filename"),
    [
        ("csqa/dev_rand_split.jsonl", "csqa", "dev_rand_split.jsonl"),
        ("csqa/test_rand_split_no_answers.jsonl", "csqa", "test_rand_split_no_answers.jsonl"),
        ("obqa/dev.jsonl", "obqa", "dev.jsonl"),
        ("obqa/train.jsonl", "obqa", "train.jsonl"),
        ("obqa/openbook.txt", "obqa", "openbook.txt"),
    ],
)
def test_pinned_checksums_match_the_shared_copies(relative: str, dataset: str, filename: str) -> None:
    path = Path(__file__).resolve().parents[2].parent / "shared" / "data" / relative
    if not path.is_file():
        pytest.skip(f"real data file {relative} not found")
    pinned = {f.filename: f.sha256 for f in get_source(dataset).files}
    pinned.update({m.filename: m.sha256 for f in get_source(dataset).files for m in f.extract})
    assert pinned[filename] == sha256_of(path)


# --------------------------------------------------------------------------- CLI


def test_cli_download(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture) -> None:
    _serve_toy(server)
    monkeypatch.setitem(DATASETS, "toy", _toy_source(_sha(SAMPLE)))
    code = main(["download", "toy", str(tmp_path), "--url-base", server.url("/mirror"), "--quiet"])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        str(tmp_path / "sample.jsonl"), str(tmp_path / "kb.txt"), str(tmp_path / "dev.jsonl"),
    ]


def test_cli_download_error_and_list(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(DATASETS, "toy", _toy_source(None))
    code = main(["download", "toy", str(tmp_path), "--url-base", server.url("/nowhere"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"kglm: error: {server.url('/nowhere/toy/sample.jsonl')}: HTTP error 404 Not Found\n"
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out if not line.startswith(" ")] == [
        "csqa", "obqa", "swag", "conceptnet-100k", "toy",
    ]
    assert out[1].split() == ["note:", "also", "writes", "the", "in-house", "split", "of", "MHGRN/QA-GNN:",
                              "train_inhouse.jsonl,", "test_inhouse.jsonl"]
    with pytest.raises(SystemExit):
        main(["download", "squad", str(tmp_path)])


# --------------------------------------------------------------------------- prepare steps


def test_prepare_csqa_inhouse(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"q{i}", "question": {"stem": str(i)}}) for i in range(5)]
    (tmp_path / "train_rand_split.jsonl").write_text("\n".join(lines))  # no final newline
    (tmp_path / "inhouse_split_qids.txt").write_text("q3\nq0\n\nq4\n")
    paths = prepare_csqa_inhouse(tmp_path)
    assert paths == [tmp_path / "train_inhouse.jsonl", tmp_path / "test_inhouse.jsonl"]
    assert paths[0].read_text() == "".join(lines[i] + "\n" for i in (0, 3, 4))
    assert paths[1].read_text() == "".join(lines[i] + "\n" for i in (1, 2))
    (tmp_path / "inhouse_split_qids.txt").write_text("q3\nq9\n")
    with pytest.raises(ValueError, match=r"inhouse_split_qids.txt: 1 listed id\(s\) are not in train_rand_split.jsonl, e.g. 'q9'"):
        prepare_csqa_inhouse(tmp_path)
    (tmp_path / "train_rand_split.jsonl").write_text(lines[0] + "\n[1]\n")
    with pytest.raises(ValueError, match=r"train_rand_split.jsonl:2: expected a JSON object with an 'id'"):
        prepare_csqa_inhouse(tmp_path)


def _gz(path: Path, text: str) -> None:
    path.write_bytes(gzip.compress(text.encode()))


def test_prepare_conceptnet_100k(tmp_path: Path) -> None:
    _gz(tmp_path / "train100k.txt.gz", "IsA\tdog\tanimal\t2.5\nAtLocation\tfork\tkitchen\t0\n")
    _gz(tmp_path / "dev1.txt.gz", "IsA\tcat\tpet\t1\nIsA\tcat\trock\t0\n")
    _gz(tmp_path / "dev2.txt.gz", "UsedFor\tpen\twrite\t1\n\n")
    _gz(tmp_path / "test.txt.gz", "CapableOf\tdog\tbark\t1\nCapableOf\tdog\tfly\t0\n")
    paths = prepare_conceptnet_100k(tmp_path)
    assert [p.name for p in paths] == ["train.txt", "valid.txt", "test.txt"]
    # training triples are all kept (the 4th column is a confidence there)
    assert paths[0].read_text() == "IsA\tdog\tanimal\nAtLocation\tfork\tkitchen\n"
    assert paths[1].read_text() == "IsA\tcat\tpet\nUsedFor\tpen\twrite\n"
    assert paths[2].read_text() == "CapableOf\tdog\tbark\n"
    _gz(tmp_path / "dev2.txt.gz", "UsedFor\tpen\twrite\tyes\n")
    with pytest.raises(ValueError, match=r"dev2.txt.gz:1: score 'yes' is not a number"):
        prepare_conceptnet_100k(tmp_path)
    _gz(tmp_path / "dev2.txt.gz", "UsedFor pen write 1\n")
    with pytest.raises(ValueError, match=r"dev2.txt.gz:1: expected relation, head, tail\[, score\] separated by tabs, found 1 column"):
        prepare_conceptnet_100k(tmp_path)
    assert not (tmp_path / "valid.txt.tmp").exists()


def test_conceptnet_100k_download_end_to_end(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {"train100k": "IsA\tdog\tanimal\t1\n", "dev1": "IsA\tcat\tpet\t1\n",
             "dev2": "IsA\tcat\trock\t0\n", "test": "CapableOf\tdog\tbark\t1\n"}
    for name, text in texts.items():
        server.files[f"/m/conceptnet-100k/{name}.txt.gz"] = gzip.compress(text.encode())
    monkeypatch.setenv(URL_ENV, server.url("/m"))
    paths = download_dataset("conceptnet-100k", tmp_path, progress=False)
    assert [p.name for p in paths] == [
        "train100k.txt.gz", "dev1.txt.gz", "dev2.txt.gz", "test.txt.gz", "train.txt", "valid.txt", "test.txt",
    ]
    assert (tmp_path / "valid.txt").read_text() == "IsA\tcat\tpet\n"
    from kglm.kg.graph import KnowledgeGraph

    kg = KnowledgeGraph.from_conceptnet(tmp_path / "train.txt", format="cn100k", merge_relations=False)
    assert (kg.entities, kg.relations, kg.triples.tolist()) == (["dog", "animal"], ["IsA"], [[0, 0, 1]])
