"""Download public data sets with checksums, resume and a progress bar.

The sources are configuration: :data:`DATASETS` maps a name to a
:class:`DatasetSource`, a list of :class:`RemoteFile` (URL, file name, optional
sha256). A mirror can replace every URL: pass ``url_base`` (or set the
environment variable ``KGLM_DATA_URL``) and file ``F`` of data set ``D`` is
fetched from ``{url_base}/{D}/{F}``.

:func:`download_file` streams into ``DEST.part``, checks the sha256 (and size)
when pinned (a mismatch removes the file and raises :class:`DownloadError`
naming the file and both digests) and renames the finished file into place, so
``DEST`` is never half-written. It never splices two versions of a file: an
interrupted download is resumed (HTTP ``Range``) only with ``If-Range`` and the
``ETag`` / ``Last-Modified`` of the first response (a changed file then comes
whole), or when a pinned sha256 will check the result; otherwise it starts
again. A body longer than the pinned size or the declared
``Content-Length`` and one that ends early are refused; redirects to another
host or scheme are refused unless allowed. A file without a pinned checksum is
fetched with a warning that prints the sha256 it got, and that digest is
recorded in ``DIR/.kglm-downloads.json``: a later download of the same file
with other content is refused (the upstream file changed).

Example (not run here: it needs the network)::

    from kglm.datasets.download import download_dataset
    paths = download_dataset("csqa", "data/csqa")
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import urllib.error
import urllib.request
import zipfile
from urllib.parse import urlsplit
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from kglm.errors import DownloadError, UnsafeInputError  # DownloadError is re-exported here
from kglm.utils.checksums import file_sha256
from kglm.utils.io import PathLike, atomic_file, atomic_write_json, clean_debris, open_compressed, publish

__all__ = [
    "ArchiveMember",
    "DATASETS",
    "DatasetSource",
    "DownloadError",
    "RemoteFile",
    "URL_ENV",
    "download_dataset",
    "download_file",
    "get_source",
    "prepare_conceptnet_100k",
    "prepare_csqa_inhouse",
    "sha256_of",
]

logger = logging.getLogger(__name__)


#: environment variable that overrides the base URL of every data set.
URL_ENV = "KGLM_DATA_URL"

_CHUNK = 1 << 16
#: the most bytes an archive member or gunzipped file may expand to when its size is not pinned
_MAX_UNPACKED = 16 << 30
_USER_AGENT = "kglm-download/0.1 (+https://kglm.dev)"


@dataclass(frozen=True)
class ArchiveMember:
    """A file to take out of a downloaded zip archive.

    Attributes:
        member: the path inside the archive.
        filename: the name to give it in the data set directory.
        sha256: its expected sha256 (hex), or ``None`` when not pinned.
    """

    member: str
    filename: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set.

    Attributes:
        url: where to fetch it.
        filename: the name it is saved under (also its name on a mirror).
        sha256: the expected sha256 (hex) of the downloaded bytes, or ``None``
            when not pinned (the digest is then printed, so it can be pinned,
            and recorded, so a changed upstream file is noticed).
        gunzip_to: for a ``.gz`` file, also write the decompressed content
            under this name.
        extract: for a zip archive, the members to write out.
    """

    url: str
    filename: str
    sha256: str | None = None
    gunzip_to: str | None = None
    extract: tuple[ArchiveMember, ...] = ()
    size: int | None = None

    def outputs(self) -> list[str]:
        """The file names this entry leaves for the user (after unpacking)."""
        if self.extract:
            return [m.filename for m in self.extract]
        if self.gunzip_to:
            return [self.gunzip_to]
        return [self.filename]


@dataclass
class DatasetSource:
    """A downloadable data set.

    Attributes:
        name: the name used on the command line (``kglm download NAME DIR``).
        files: the files to fetch.
        description: one line for ``kglm download --list``.
        licence: the data set's licence.
        homepage: where it is described.
        notes: remarks on the files, shown by ``kglm download --list``.
        prepare: run after the downloads with the data set directory; writes
            derived files (for example the in-house CommonsenseQA split) and
            returns their paths.
    """

    name: str
    files: list[RemoteFile]
    description: str = ""
    licence: str = ""
    homepage: str = ""
    notes: list[str] = field(default_factory=list)
    prepare: Callable[[Path], list[Path]] | None = None


def _write_lines_atomically(dest: Path, lines: Iterable[bytes]) -> int:
    """Write ``lines`` to ``dest`` through a temporary file; return how many."""
    count = 0
    with atomic_file(dest) as tmp, open(tmp, "wb") as out:
        for line in lines:
            out.write(line)
            count += 1
    return count


def prepare_csqa_inhouse(directory: PathLike) -> list[Path]:
    """Write the in-house CommonsenseQA split used by MHGRN, QA-GNN and GreaseLM.

    Reads ``train_rand_split.jsonl`` and ``inhouse_split_qids.txt`` in
    ``directory``; writes ``train_inhouse.jsonl`` (the official training
    questions whose id is listed, 8,500) and ``test_inhouse.jsonl`` (the other
    1,241), each line copied unchanged and in the original order. The official
    dev set then serves as the in-house dev set.

    Returns:
        The two paths.

    Raises:
        ValueError: an id of the list is missing from the training file, or a
            training line has no ``id`` (naming the file and line).
    """
    root = Path(directory)
    train, qids_path = root / "train_rand_split.jsonl", root / "inhouse_split_qids.txt"
    wanted = {line.strip() for line in qids_path.read_text(encoding="utf-8").splitlines() if line.strip()}
    inhouse: list[bytes] = []
    rest: list[bytes] = []
    found: set[str] = set()
    with open(train, "rb") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                qid = json.loads(line)["id"]
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{train}:{line_no}: expected a JSON object with an 'id'") from None
            if not line.endswith(b"\n"):
                line += b"\n"
            (inhouse if qid in wanted else rest).append(line)
            if qid in wanted:
                found.add(qid)
    missing = wanted - found
    if missing:
        raise ValueError(
            f"{qids_path}: {len(missing)} listed id(s) are not in {train.name}, e.g. {sorted(missing)[0]!r}"
        )
    outputs = [root / "train_inhouse.jsonl", root / "test_inhouse.jsonl"]
    for dest, lines in zip(outputs, (inhouse, rest)):
        _write_lines_atomically(dest, lines)
    logger.info("in-house split: %d train, %d test questions", len(inhouse), len(rest))
    return outputs


def prepare_conceptnet_100k(directory: PathLike) -> list[Path]:
    """Write ConceptNet-100K as 3-column TSV files of positive triples.

    The published files (``train100k.txt.gz``, ``dev1.txt.gz``, ``dev2.txt.gz``,
    ``test.txt.gz``) have the columns ``relation, head, tail, score``, and the
    evaluation files hold negative tuples (score 0) too. This writes the split
    used for knowledge-base completion since Li et al. (2016):
    ``train.txt`` (all 100,000 training triples), ``valid.txt`` (the positive
    triples of dev1 and dev2) and ``test.txt`` (those of test), each line
    ``relation<TAB>head<TAB>tail`` -- the format
    :meth:`kglm.kg.KnowledgeGraph.from_conceptnet` reads.

    Returns:
        The three paths.

    Raises:
        ValueError: a line without 3 or 4 columns, or with a score that is not
            a number (naming the file and line).
    """
    root = Path(directory)

    def positives(names: Sequence[str], keep_all: bool) -> Iterator[bytes]:
        for name in names:
            path = root / name
            with open_compressed(path, "rt", newline="") as f:
                for line_no, line in enumerate(f, 1):
                    text = line.rstrip("\r\n")
                    if not text.strip():
                        continue
                    cols = text.split("\t")
                    if len(cols) not in (3, 4) or not all(c.strip() for c in cols[:3]):
                        raise ValueError(
                            f"{path}:{line_no}: expected relation, head, tail[, score] separated "
                            f"by tabs, found {len(cols)} column(s)"
                        )
                    if len(cols) == 4 and not keep_all:
                        try:
                            score = float(cols[3])
                        except ValueError:
                            raise ValueError(
                                f"{path}:{line_no}: score {cols[3]!r} is not a number"
                            ) from None
                        if score <= 0:
                            continue
                    yield ("\t".join(cols[:3]) + "\n").encode("utf-8")

    splits = {
        "train.txt": (["train100k.txt.gz"], True),
        "valid.txt": (["dev1.txt.gz", "dev2.txt.gz"], False),
        "test.txt": (["test.txt.gz"], False),
    }
    outputs = []
    for filename, (names, keep_all) in splits.items():
        count = _write_lines_atomically(root / filename, positives(names, keep_all))
        logger.info("%s: %d triples", filename, count)
        outputs.append(root / filename)
    return outputs


_CSQA = "https://s3.amazonaws.com/commensenseqa"
_OBQA_ZIP = "OpenBookQA-V1-Sep2018"
_SWAG = "https://raw.githubusercontent.com/rowanz/swagaf/master/data"
_CN100K = "https://ttic.uchicago.edu/~kgimpel/comsense_resources"

#: The known data sets. A sha256 (and size) is pinned where the published file
#: was checked byte for byte against a copy (CommonsenseQA dev and test, the
#: OpenBookQA train/dev/openbook members); the other files are unpinned (no
#: verified copy was available): their download prints the sha256 it got and
#: records it, so a later download with other content is refused. SECURITY.md
#: lists them.
DATASETS: dict[str, DatasetSource] = {
    source.name: source
    for source in (
        DatasetSource(
            name="csqa",
            description="CommonsenseQA v1.11: 5-choice questions (train 9,741 / dev 1,221 / test 1,140 unlabeled)",
            licence="MIT",
            homepage="https://www.tau-nlp.sites.tau.ac.il/commonsenseqa",
            files=[
                RemoteFile(f"{_CSQA}/train_rand_split.jsonl", "train_rand_split.jsonl"),
                RemoteFile(
                    f"{_CSQA}/dev_rand_split.jsonl", "dev_rand_split.jsonl",
                    "3210497fdaae614ac085d9eb873dd7f4d49b6f965a93adadc803e1229fd8a02a", size=471_653,
                ),
                RemoteFile(
                    f"{_CSQA}/test_rand_split_no_answers.jsonl", "test_rand_split_no_answers.jsonl",
                    "b426896d71a9cd064cf01cfaf6e920817c51701ef66028883ac1af2e73ad5f29", size=423_148,
                ),
                RemoteFile(
                    "https://raw.githubusercontent.com/INK-USC/MHGRN/master/data/csqa/inhouse_split_qids.txt",
                    "inhouse_split_qids.txt",
                ),
            ],
            notes=["also writes the in-house split of MHGRN/QA-GNN: train_inhouse.jsonl, test_inhouse.jsonl"],
            prepare=prepare_csqa_inhouse,
        ),
        DatasetSource(
            name="obqa",
            description="OpenBookQA v1: 4-choice science questions, Main set and the 1,326 open-book facts",
            licence="Apache-2.0",
            homepage="https://allenai.org/data/open-book-qa",
            files=[
                RemoteFile(
                    f"https://ai2-public-datasets.s3.amazonaws.com/open-book-qa/{_OBQA_ZIP}.zip",
                    f"{_OBQA_ZIP}.zip",
                    extract=(
                        ArchiveMember(
                            f"{_OBQA_ZIP}/Data/Main/train.jsonl", "train.jsonl",
                            "388ce25926fa33b573ba6556d7245a6185f612dedf919871b6acb9340c8497a5", 1_505_097,
                        ),
                        ArchiveMember(
                            f"{_OBQA_ZIP}/Data/Main/dev.jsonl", "dev.jsonl",
                            "a08f720be757a0f0b6aaf8e1e1162c2b05a882c9c031d2559ba3d5467d023466", 156_928,
                        ),
                        ArchiveMember(f"{_OBQA_ZIP}/Data/Main/test.jsonl", "test.jsonl"),
                        ArchiveMember(
                            f"{_OBQA_ZIP}/Data/Main/openbook.txt", "openbook.txt",
                            "42daf7849bd9ad1096599279e8875038fe8bf55e35c4757d67ec5a2f51ad795c", 75_914,
                        ),
                    ),
                ),
            ],
        ),
        DatasetSource(
            name="swag",
            description="SWAG: 4-choice grounded situations (regular CSVs and the _full variant)",
            licence="MIT",
            homepage="https://rowanzellers.com/swag/",
            files=[
                RemoteFile(f"{_SWAG}/{name}", name)
                for name in ("train.csv", "val.csv", "test.csv", "train_full.csv", "val_full.csv")
            ],
        ),
        DatasetSource(
            name="conceptnet-100k",
            description="ConceptNet-100K (Li et al. 2016): commonsense KB completion split of ConceptNet",
            licence="CC BY-SA 4.0",
            homepage="https://ttic.uchicago.edu/~kgimpel/commonsense.html",
            files=[
                RemoteFile(f"{_CN100K}/{name}.txt.gz", f"{name}.txt.gz")
                for name in ("train100k", "dev1", "dev2", "test")
            ],
            notes=[
                "writes train.txt, valid.txt and test.txt: relation<TAB>head<TAB>tail, positive "
                "triples only (the published dev and test files also hold negatives)",
            ],
            prepare=prepare_conceptnet_100k,
        ),
    )
}


def get_source(name: str) -> DatasetSource:
    """Return the :class:`DatasetSource` called ``name``.

    Raises:
        KeyError: an unknown name; the message lists the known ones.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


def sha256_of(path: PathLike) -> str:
    """Return the sha256 hex digest of a file (:func:`kglm.utils.checksums.file_sha256`)."""
    return file_sha256(path)


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme and host (unless ``allow`` is set)."""

    def __init__(self, allow: bool) -> None:
        super().__init__()
        self.allow = allow

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        old, new = urlsplit(req.full_url), urlsplit(newurl)
        if not self.allow and (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
            raise DownloadError(
                f"{req.full_url}: redirected to {newurl}, another host or scheme; refused "
                f"(allow with allow_redirects=True or `kglm download --allow-redirects`)"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(
    url: str, offset: int, timeout: float, if_range: str | None = None, allow_redirects: bool = False,
) -> http.client.HTTPResponse:
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if if_range:
            headers["If-Range"] = if_range
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(_SameOriginRedirects(allow_redirects))
    try:
        return opener.open(request, timeout=timeout)  # noqa: S310 (http/https only, checked)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            raise
        raise DownloadError(f"{url}: HTTP error {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, DownloadError):
            raise exc.reason from None
        raise DownloadError(f"{url}: cannot connect: {exc.reason}") from None
    except DownloadError:
        raise
    except (TimeoutError, OSError) as exc:
        raise DownloadError(f"{url}: cannot connect: {exc}") from None


def _resume_offset(response: http.client.HTTPResponse, offset: int) -> int:
    """Where the body starts: ``offset`` for a matching 206, else 0 (restart)."""
    if not offset:
        return 0
    if response.status != 206:
        logger.info("server sent the whole file (changed, or no Range support); restarting from the beginning")
        return 0
    content_range = response.headers.get("Content-Range", "")
    if not content_range.startswith(f"bytes {offset}-"):
        raise DownloadError(
            f"{response.url}: server answered a request for bytes {offset}- with "
            f"Content-Range {content_range!r}"
        )
    return offset


def _validator(response: http.client.HTTPResponse) -> str | None:
    """A strong validator for ``If-Range``: the ``ETag`` (not a weak ``W/`` one), else ``Last-Modified``."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified") or None


def _read_state(path: Path) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.loads(f.read(1 << 16))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, RecursionError):
        return {}


def download_file(
    url: str,
    dest: PathLike,
    sha256: str | None = None,
    progress: bool = True,
    *,
    size: int | None = None,
    timeout: float = 60.0,
    force: bool = False,
    allow_redirects: bool = False,
    max_bytes: int = 8 << 30,
) -> Path:
    """Download ``url`` to ``dest``, resuming safely and verifying.

    Bytes go to ``dest.part`` first (with ``dest.part.json`` recording the URL
    and the server's validator). An interrupted download is resumed with an
    HTTP ``Range`` request only when that cannot splice two versions of the
    file: with ``If-Range`` and the first response's ``ETag`` /
    ``Last-Modified`` (a changed file then comes whole, 200), or when ``sha256``
    and ``size`` are pinned (the result is checked); otherwise it starts again.
    When the transfer completes, the size and sha256 (if given) are checked and
    the file renamed to ``dest``.

    Args:
        url: an ``http://`` or ``https://`` URL.
        dest: the final path; its directory is created.
        sha256: the expected hex digest, or ``None`` (the digest it got is then
            printed as a warning).
        progress: show a tqdm progress bar.
        size: the expected size in bytes: a response declaring another size, or
            a body that goes past it, is refused at once.
        timeout: seconds to wait for the server on each read.
        force: download again even if ``dest`` already exists.
        allow_redirects: follow redirects to another host or scheme (refused by default).
        max_bytes: refuse a body larger than this when no size is pinned or declared.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`. An existing ``dest`` is kept
        without a request when it matches ``sha256`` (or when no digest is
        given); one that does not match is downloaded again.

    Raises:
        DownloadError: an HTTP error (naming the URL and status), an
            unreachable server, a refused redirect, a body larger or shorter
            than declared (the ``.part`` file of an interrupted transfer is
            kept, so running again resumes) or a checksum / size mismatch
            (naming the file, the expected and the actual value; the bad file
            is removed).
        ValueError: ``url`` is not http(s).
    """
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"only http:// and https:// URLs can be downloaded, not {url!r}")
    from tqdm.auto import tqdm

    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    if dest.is_file() and not force:
        if expected is None:
            logger.info("%s exists; not downloading it again", dest)
            return dest
        if sha256_of(dest) == expected and (size is None or dest.stat().st_size == size):
            logger.info("%s exists and matches its checksum", dest)
            return dest
        logger.warning("%s exists but does not match its checksum; downloading it again", dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(dest)
    part = dest.with_name(dest.name + ".part")
    state_path = dest.with_name(dest.name + ".part.json")
    state = _read_state(state_path)
    if force or (part.exists() and state.get("url") not in (None, url)):
        part.unlink(missing_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    validator = state.get("validator") if isinstance(state.get("validator"), str) else None
    checkable = expected is not None  # a spliced file cannot pass the pinned checksum (it is then removed)
    if offset and size is not None and offset >= size:
        offset = 0
    if offset and validator is None and not checkable:
        logger.info("%s: no validator to resume safely with; restarting from the beginning", dest.name)
        offset = 0
    try:
        response = _open(url, offset, timeout, validator, allow_redirects)
    except urllib.error.HTTPError:  # 416: the partial file is not a prefix we can extend
        logger.info("server refused to resume %s; restarting from the beginning", dest.name)
        offset = 0
        response = _open(url, 0, timeout, None, allow_redirects)
    with response:
        offset = _resume_offset(response, offset)
        length = response.headers.get("Content-Length")
        declared = offset + int(length) if length is not None and length.isdigit() else None
        if size is not None and declared is not None and declared != size:
            raise DownloadError(
                f"{url}: the server declares {declared} bytes, expected {size}; refused (the file changed upstream?)"
            )
        total = declared if declared is not None else size
        limit = total if total is not None else max_bytes
        if not offset:
            part.unlink(missing_ok=True)
        atomic_write_json(state_path, {"url": url, "validator": _validator(response)})
        received = offset
        with open(part, "ab" if offset else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=dest.name, disable=not progress, leave=False,
        ) as bar:
            try:
                while chunk := response.read(min(_CHUNK, limit - received + 1)):
                    if received + len(chunk) > limit:
                        out.close()
                        part.unlink(missing_ok=True)
                        raise DownloadError(
                            f"{url}: the body is larger than the {limit} bytes expected; refused"
                        )
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, DownloadError):
                    raise
                raise DownloadError(
                    f"{url}: transfer interrupted after {received} bytes ({exc}); "
                    f"run again to resume from {part}"
                ) from None
            out.flush()
            os.fsync(out.fileno())
    if total is not None and received != total:
        raise DownloadError(
            f"{url}: transfer incomplete, got {received} of {total} bytes; "
            f"run again to resume from {part}"
        )
    actual = sha256_of(part)
    if (expected is not None and actual != expected) or (size is not None and received != size):
        part.unlink()
        state_path.unlink(missing_ok=True)
        what = f"sha256 {expected}" if expected is not None and actual != expected else f"{size} bytes"
        got = actual if expected is not None and actual != expected else f"{received} bytes"
        raise DownloadError(
            f"{dest}: checksum mismatch: expected {what}, got {got} "
            f"(downloaded from {url}); the file was removed"
        )
    if expected is None:
        _check_recorded(dest, actual, url, part)
        logger.warning("%s: sha256 %s (%d bytes; not pinned: compare it with the publisher's)",
                       dest.name, actual, received)
    publish(part, dest)
    state_path.unlink(missing_ok=True)
    return dest


_RECORD = ".kglm-downloads.json"


def _check_recorded(dest: Path, actual: str, url: str, part: Path) -> None:
    """Trust on first use for unpinned files: the digest of the first download is recorded in
    ``DIR/.kglm-downloads.json``; a later download of ``dest`` with another digest is refused."""
    record_path = dest.parent / _RECORD
    record = _read_state(record_path)
    previous = record.get(dest.name)
    if isinstance(previous, dict) and previous.get("sha256") not in (None, actual):
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{dest}: the upstream file changed: sha256 {actual} from {url}, but {previous.get('sha256')} "
            f"was recorded in {record_path} when it was first downloaded; refused (delete its entry "
            f"there to accept the new version)"
        )
    record[dest.name] = {"sha256": actual, "url": url}
    atomic_write_json(record_path, record)


def _safe_name(name: str, what: str) -> str:
    """A file name inside the data set directory: no separators, no ``..``, not hidden tricks."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnsafeInputError(f"{what} {name!r} is not a plain file name; refusing to write it")
    return name


def _copy_bounded(src: BinaryIO, out: BinaryIO, limit: int, what: str) -> None:
    copied = 0
    while chunk := src.read(min(_CHUNK, limit - copied + 1)):
        copied += len(chunk)
        if copied > limit:
            raise DownloadError(f"{what}: expands past {limit} bytes; refused")
        out.write(chunk)


def _check_digest(path: Path, expected: str | None, origin: str) -> None:
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected.lower():
        path.unlink()
        raise DownloadError(
            f"{path}: checksum mismatch: expected sha256 {expected.lower()}, got {actual} "
            f"({origin}); the file was removed"
        )


def _unpack(remote: RemoteFile, archive: Path, directory: Path) -> list[Path]:
    if remote.gunzip_to:
        target = directory / _safe_name(remote.gunzip_to, "gunzip_to")
        try:
            with open_compressed(archive, "rb") as src, atomic_file(target) as tmp, open(tmp, "wb") as out:
                _copy_bounded(src, out, _MAX_UNPACKED, str(archive))
        except (OSError, ValueError) as exc:
            if isinstance(exc, DownloadError):
                raise
            raise DownloadError(f"{archive}: not a valid gzip file: {exc}") from None
        return [target]
    if remote.extract:
        outputs = []
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = {info.filename: info for info in zf.infolist()}
                for member in remote.extract:
                    info = infos.get(member.member)
                    if info is None:
                        raise DownloadError(f"{archive}: the archive has no member {member.member!r}")
                    target = directory / _safe_name(member.filename, "archive member name")
                    limit = member.size if member.size is not None else min(info.file_size, _MAX_UNPACKED)
                    if info.file_size > limit:
                        raise DownloadError(
                            f"{archive}: member {member.member} is {info.file_size} bytes, expected {limit}"
                        )
                    with zf.open(info) as src, atomic_file(target) as tmp, open(tmp, "wb") as out:
                        _copy_bounded(src, out, limit, f"member {member.member} of {archive}")
                    _check_digest(target, member.sha256, f"member {member.member} of {archive.name}")
                    outputs.append(target)
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{archive}: not a valid zip file: {exc}") from None
        return outputs
    return [archive]


def download_dataset(
    name: str | DatasetSource,
    directory: PathLike,
    *,
    url_base: str | None = None,
    progress: bool = True,
    force: bool = False,
    timeout: float = 60.0,
    allow_redirects: bool = False,
) -> list[Path]:
    """Download every file of a data set into ``directory``.

    Args:
        name: a key of :data:`DATASETS` (``"csqa"``, ``"obqa"``, ``"swag"``,
            ``"conceptnet-100k"``) or a :class:`DatasetSource`.
        directory: where the files go (created if needed).
        url_base: fetch file ``F`` from ``{url_base}/{name}/{F}`` instead of
            its configured URL; defaults to ``$KGLM_DATA_URL`` when set.
        progress: show progress bars.
        force: download again files that are already there.
        timeout: seconds to wait for the server on each read.
        allow_redirects: follow redirects to another host or scheme.

    Returns:
        The paths of the data files, in configuration order (the unpacked
        files for archives), then those the source's ``prepare`` step wrote.

    Raises:
        KeyError: an unknown data set name.
        DownloadError: see :func:`download_file`.
    """
    from tqdm.auto import tqdm

    source = name if isinstance(name, DatasetSource) else get_source(name)
    base = url_base if url_base is not None else os.environ.get(URL_ENV) or None
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    files: Sequence[RemoteFile] = source.files
    for remote in tqdm(files, desc=source.name, unit="file", disable=not progress or len(files) < 2):
        url = f"{base.rstrip('/')}/{source.name}/{remote.filename}" if base else remote.url
        outputs = [out / _safe_name(f, "file name") for f in remote.outputs()]
        if remote.outputs() != [remote.filename] and not force and all(p.is_file() for p in outputs):
            logger.info("%s: %s already unpacked", source.name, ", ".join(remote.outputs()))
            paths.extend(outputs)
            continue
        archive = download_file(url, out / _safe_name(remote.filename, "file name"), remote.sha256, progress,
                                size=remote.size, timeout=timeout, force=force, allow_redirects=allow_redirects)
        paths.extend(_unpack(remote, archive, out))
    if source.prepare is not None:
        paths.extend(source.prepare(out))
    return paths
