"""Readers for multiple-choice question answering data sets.

Every reader returns an :class:`ExampleList` of :class:`MultipleChoiceExample`
(a plain ``list`` with a ``skipped`` attribute). Supported formats:

- CommonsenseQA JSONL (:func:`read_csqa`) and OpenBookQA JSONL
  (:func:`read_obqa`): ``{"id", "question": {"stem", "choices": [{"label",
  "text"}]}, "answerKey"}``;
- SWAG CSV (:func:`read_swag`), the regular files (``sent1``, ``sent2``,
  ``ending0..3``, ``label``) and the ``_full`` files (``gold-ending``,
  ``distractor-0..3``);
- any JSONL/CSV/TSV file through a :class:`ColumnMapping`
  (:func:`read_multiple_choice`), with answers in the file or in a separate
  labels file (one per line, as Social IQa and PIQA ship them), and the
  question built from several fields by a template;
- a Hugging Face ``datasets.Dataset`` or ``DatasetDict`` through the same
  mapping (:func:`read_hf_dataset`);
- :func:`read_examples` picks one of the above from the file.

Unlabeled files (test sets) give ``label=None``. A malformed record raises
:class:`DatasetFormatError`, whose message starts with ``"{path}:{line}: "`` and
names the offending field. With ``skip_invalid=True`` bad records are skipped
instead, but never silently: each one is kept in ``ExampleList.skipped`` and a
warning with the count is logged.

Files ending in ``.gz`` are decompressed transparently.

Example:
    >>> from kglm.datasets import read_csqa
    >>> from kglm.datasets.bundled import demo_questions_path
    >>> examples = read_csqa(demo_questions_path("dev"))
    >>> len(examples), examples[0].question, examples[0].choices[examples[0].label]
    (16, 'If you are hungry, what do you want to do?', 'eat')
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kglm.errors import DataFormatError
from kglm.utils.io import PathLike, inner_suffix, open_compressed

__all__ = [
    "ColumnMapping",
    "DatasetFormatError",
    "ExampleList",
    "MultipleChoiceExample",
    "read_csqa",
    "read_examples",
    "read_hf_dataset",
    "read_labels_file",
    "read_multiple_choice",
    "read_obqa",
    "read_swag",
]

logger = logging.getLogger(__name__)

ExampleFormat = Literal["auto", "csqa", "obqa", "swag", "jsonl", "csv", "tsv"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class MultipleChoiceExample:
    """One multiple-choice question.

    Attributes:
        id: the example's id in its data set.
        question: the question text (for SWAG, the context sentence).
        choices: the answer candidates, in file order.
        label: index of the correct choice; ``None`` for unlabeled test data.
        metadata: extra fields of the source, e.g. ``question_concept``,
            ``choice_labels`` (the letters of the choices) or ``fact1``.
    """

    id: str
    question: str
    choices: list[str]
    label: int | None
    metadata: dict = field(default_factory=dict)


class DatasetFormatError(DataFormatError):
    """A data file does not have the expected format.

    The message starts with ``"{path}:{line}: "`` (just ``"{path}: "`` for
    whole-file problems such as an empty file).

    Attributes:
        path: the file.
        line: 1-based line number of the bad record, or ``None``.
        field: the offending field or column, or ``None``.
        reason: the message without the location prefix.
    """

    def __init__(self, path: PathLike, line: int | None, reason: str, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class ExampleList(list[MultipleChoiceExample]):
    """The examples read from a file, plus the records that were skipped.

    Attributes:
        path: the file that was read.
        skipped: one :class:`DatasetFormatError` per record skipped because of
            ``skip_invalid=True``; empty otherwise.
    """

    def __init__(
        self,
        examples: Sequence[MultipleChoiceExample] = (),
        path: PathLike = "",
        skipped: Sequence[DatasetFormatError] = (),
    ):
        super().__init__(examples)
        self.path = str(path)
        self.skipped: list[DatasetFormatError] = list(skipped)

    def __repr__(self) -> str:
        return f"ExampleList({len(self)} examples, {len(self.skipped)} skipped, path={self.path!r})"


@dataclass(frozen=True)
class ColumnMapping:
    """Where a generic JSONL or CSV file keeps the parts of an example.

    Field names may be dotted paths into nested JSON objects
    (``"question.stem"``).

    Attributes:
        question: the field with the question text.
        choices: either one field holding a list (of strings, or of objects
            whose ``choice_text`` field is the text), or a sequence of fields,
            one per choice (for example ``("ending0", "ending1")``).
        label: the field with the answer: a 0-based index (an int or a digit
            string; see ``first_index``) or a letter (``"A"`` is the first
            choice). ``None``: the file has no answers. A record whose label
            field is missing or empty is unlabeled.
        id: the field with the example id; ``None``, or a record without
            that field: the id is ``"{file stem}-{line}"`` (``"{split}-{row}"``
            for a Hugging Face dataset, rows counted from 1).
        label_kind: ``"auto"`` (ints and digit strings are indices, single
            letters are letters), ``"index"`` or ``"letter"``.
        first_index: the index of the first choice in the label field (1 for
            files that count from 1).
        choice_text: for choices given as objects, the field with the text.
        metadata: fields copied into ``MultipleChoiceExample.metadata``
            (missing ones are left out).
        num_choices: the number of choices every example must have;
            ``None``: whatever the first example has.
        question_template: build the question from several fields, e.g.
            ``"{context} {question}"`` (field names in braces, dotted paths
            allowed; ``{{``/``}}`` for literal braces); ``None``: the
            ``question`` field alone.
    """

    question: str = "question"
    choices: str | Sequence[str] = "choices"
    label: str | None = "label"
    id: str | None = "id"
    label_kind: Literal["auto", "index", "letter"] = "auto"
    first_index: int = 0
    choice_text: str = "text"
    metadata: Sequence[str] = ()
    num_choices: int | None = None
    question_template: str | None = None

    def __post_init__(self) -> None:
        if self.label_kind not in ("auto", "index", "letter"):
            raise ValueError(f"label_kind must be 'auto', 'index' or 'letter', not {self.label_kind!r}")
        if not isinstance(self.choices, str) and len(self.choices) < 2:
            raise ValueError("choices must be one field name or at least two column names")
        if self.num_choices is not None and self.num_choices < 2:
            raise ValueError(f"num_choices must be at least 2, not {self.num_choices}")
        if self.question_template is not None:
            fields = self.template_fields
            if not fields:
                raise ValueError(f"question_template {self.question_template!r} names no field")

    @property
    def template_fields(self) -> list[str]:
        """The field names of ``question_template`` (``[question]`` without a template)."""
        if self.question_template is None:
            return [self.question]
        import string

        try:
            parsed = list(string.Formatter().parse(self.question_template))
        except ValueError as exc:
            raise ValueError(f"question_template {self.question_template!r}: {exc}") from None
        names = [name for _, name, spec, conv in parsed if name is not None]
        if any(not n or n.isdigit() for n in names):
            raise ValueError(f"question_template {self.question_template!r}: every {{}} must name a field")
        return list(dict.fromkeys(names))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """A mapping from a plain dict (config files, CLI): unknown keys are an error;
        ``choices`` may be a comma-separated string of column names."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown column mapping key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
        values = dict(data)
        choices = values.get("choices")
        if isinstance(choices, str) and "," in choices:
            values["choices"] = tuple(c.strip() for c in choices.split(",") if c.strip())
        elif isinstance(choices, list):
            values["choices"] = tuple(choices) if len(choices) > 1 else choices[0]
        if isinstance(values.get("metadata"), list):
            values["metadata"] = tuple(values["metadata"])
        return cls(**values)


# --------------------------------------------------------------------------- helpers


class _RecordError(Exception):
    """A bad record; turned into a DatasetFormatError with the location."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _open_text(path: Path) -> io.TextIOBase:
    """Open as UTF-8 text (a byte-order mark is dropped), for the csv module."""
    return open_compressed(path, "rt", encoding="utf-8-sig", newline="")  # type: ignore[return-value]


def _check_file(path: PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise DatasetFormatError(p, None, "is a directory, expected a data file")
    return p


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, decoded value)``; blank lines are not records.

    A line that is not valid JSON yields ``(line number, _RecordError)``.
    """
    with open_compressed(path, "rb") as f:  # truncated .gz -> DataFormatError naming the file
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, _RecordError(f"not UTF-8 text: byte {exc.start + 1} is invalid")
                continue
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield line_no, _RecordError(f"invalid JSON: {exc.msg} (column {exc.colno})")


def _csv_table(path: Path, delimiter: str) -> tuple[list[str], Callable[[], Iterator[tuple[int, Any]]]]:
    """The header of a CSV/TSV file and a function giving its records (see :func:`_csv_records`).

    Raises:
        DatasetFormatError: for an empty file or an invalid header row; the records
            function raises it for a file with a header and no rows.
    """
    records = _csv_records(path, delimiter)
    first = next(records, None)
    if first is None:
        raise DatasetFormatError(path, None, "file is empty, no examples in it")
    if isinstance(first[1], _RecordError):
        raise DatasetFormatError(path, 1, first[1].reason)

    def rows() -> Iterator[tuple[int, Any]]:
        read = list(records)
        if not read:
            raise DatasetFormatError(path, None, "file has a header but no examples")
        return iter(read)

    return first[1], rows


def _csv_records(path: Path, delimiter: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, dict of column -> value)`` for each CSV row.

    The first row is the header. The line number is the row's first line (a
    quoted field may span several lines). A row with the wrong number of
    fields yields ``(line number, _RecordError)``. An empty file yields
    nothing; a header-only file yields ``(1, header list)`` first, as does
    every file, so callers can check the columns.
    """
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise DatasetFormatError(path, None, f"not UTF-8 text ({exc.reason})") from None
        except csv.Error as exc:
            yield 1, _RecordError(f"invalid CSV header: {exc}")
            return
        yield 1, header
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                # the decoder works on blocks, so the line is only known roughly
                raise DatasetFormatError(
                    path, None, f"not UTF-8 text (invalid byte near row starting on line {start}: {exc.reason})"
                ) from None
            except csv.Error as exc:
                yield start, _RecordError(f"invalid CSV: {exc}")
                start = reader.line_num + 1
                continue
            line_no, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                yield line_no, _RecordError(
                    f"expected {len(header)} fields as in the header, found {len(row)}"
                )
                continue
            yield line_no, dict(zip(header, row))


def _collect(
    path: Path,
    records: Iterator[tuple[int, Any]],
    parse: Callable[[int, Any], MultipleChoiceExample],
    skip_invalid: bool,
) -> ExampleList:
    """Run ``parse`` over records, checking choice counts and handling bad ones."""
    result = ExampleList(path=path)
    seen_any = False
    first_line_of: dict[str, int] = {}
    for line_no, record in records:
        seen_any = True
        try:
            if isinstance(record, _RecordError):
                raise record
            example = parse(line_no, record)
            if example.id in first_line_of:
                raise _RecordError(
                    f"'id': duplicate id {example.id!r} (first on line {first_line_of[example.id]})", "id"
                )
            first_line_of[example.id] = line_no
            result.append(example)
        except _RecordError as exc:
            error = DatasetFormatError(path, line_no, exc.reason, exc.field)
            if not skip_invalid:
                raise error from None
            result.skipped.append(error)
    if not seen_any:
        raise DatasetFormatError(path, None, "file is empty, no examples in it")
    if result.skipped:
        logger.warning(
            "%s: skipped %d invalid record(s), kept %d; first: %s",
            path, len(result.skipped), len(result), result.skipped[0],
        )
        if not result:
            raise DatasetFormatError(
                path, None,
                f"no valid examples: all {len(result.skipped)} records are invalid "
                f"(first: {result.skipped[0]})",
            )
    return result


class _ChoiceCount:
    """Checks that every example has the same (or a given) number of choices."""

    def __init__(self, expected: int | None, what: str):
        self.expected = expected
        self.first_line: int | None = None
        self.what = what

    def check(self, line_no: int, n: int, field_name: str) -> None:
        if self.expected is None:
            self.expected, self.first_line = n, line_no
        elif n != self.expected:
            source = (
                f"as on line {self.first_line}" if self.first_line is not None else f"for {self.what}"
            )
            raise _RecordError(
                f"{field_name!r}: expected {self.expected} choices {source}, found {n}", field_name
            )


def _text(value: Any, field_name: str) -> str:
    if not isinstance(value, str):
        raise _RecordError(f"{field_name!r} must be a string, not {type(value).__name__}", field_name)
    if not value.strip():
        raise _RecordError(f"{field_name!r} is empty", field_name)
    return value


def _id(value: Any, field_name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _RecordError(f"{field_name!r} must be a string or an integer", field_name)
    text = str(value)
    if not text.strip():
        raise _RecordError(f"{field_name!r} is empty", field_name)
    return text


# --------------------------------------------------------------------------- CSQA / OBQA


def _parse_qa_json(line_no: int, record: Any, counter: _ChoiceCount) -> MultipleChoiceExample:
    if not isinstance(record, dict):
        raise _RecordError(f"expected a JSON object, found {type(record).__name__}")
    if "id" not in record:
        raise _RecordError("missing field 'id'", "id")
    example_id = _id(record["id"], "id")
    body = record.get("question")
    if not isinstance(body, dict):
        raise _RecordError(
            "'question' must be an object with 'stem' and 'choices'"
            if "question" in record else "missing field 'question'",
            "question",
        )
    if "stem" not in body:
        raise _RecordError("missing field 'question.stem'", "question.stem")
    stem = _text(body["stem"], "question.stem")
    raw_choices = body.get("choices")
    if not isinstance(raw_choices, list) or not raw_choices:
        raise _RecordError("'question.choices' must be a non-empty list", "question.choices")
    counter.check(line_no, len(raw_choices), "question.choices")
    letters: list[str] = []
    texts: list[str] = []
    for i, choice in enumerate(raw_choices):
        where = f"question.choices[{i}]"
        if not isinstance(choice, dict):
            raise _RecordError(f"{where!r} must be an object with 'label' and 'text'", where)
        if "label" not in choice:
            raise _RecordError(f"missing field '{where}.label'", f"{where}.label")
        if "text" not in choice:
            raise _RecordError(f"missing field '{where}.text'", f"{where}.text")
        letter = _text(choice["label"], f"{where}.label")
        if letter in letters:
            raise _RecordError(f"'{where}.label': duplicate choice label {letter!r}", f"{where}.label")
        letters.append(letter)
        texts.append(_text(choice["text"], f"{where}.text"))
    label: int | None = None
    key = record.get("answerKey")
    if key is not None and key != "":
        if key not in letters:
            raise _RecordError(
                f"'answerKey': unknown answer key {key!r}, the choices are {', '.join(letters)}",
                "answerKey",
            )
        label = letters.index(key)
    metadata: dict[str, Any] = {"choice_labels": letters}
    for name in ("question_concept",):
        if name in body:
            metadata[name] = body[name]
    for name in ("fact1", "humanScore", "clarity", "turkIdAnswer"):
        if name in record:
            metadata[name] = record[name]
    return MultipleChoiceExample(example_id, stem, texts, label, metadata)


def read_csqa(
    path: PathLike, *, num_choices: int | None = 5, skip_invalid: bool = False
) -> ExampleList:
    """Read a CommonsenseQA JSONL file.

    Each line is ``{"answerKey": "A", "id": ..., "question": {"question_concept":
    ..., "choices": [{"label": "A", "text": ...}, ...], "stem": ...}}``;
    ``answerKey`` is absent in the test file (``label`` is then ``None``).

    Args:
        path: the ``.jsonl`` (or ``.jsonl.gz``) file.
        num_choices: the number of choices each question must have (5 for
            CommonsenseQA); ``None``: as many as the first question has.
        skip_invalid: skip malformed lines (reported in ``.skipped`` and a
            logged warning) instead of raising.

    Returns:
        The examples; ``metadata`` holds ``question_concept`` and
        ``choice_labels`` (the letters, in order).

    Raises:
        DatasetFormatError: a malformed line (``path:line: ...`` naming the
            field), or an empty file.
        FileNotFoundError: ``path`` does not exist.
    """
    p = _check_file(path)
    counter = _ChoiceCount(num_choices, "this data set")
    return _collect(p, _jsonl_records(p), lambda n, r: _parse_qa_json(n, r, counter), skip_invalid)


def read_obqa(
    path: PathLike, *, num_choices: int | None = 4, skip_invalid: bool = False
) -> ExampleList:
    """Read an OpenBookQA JSONL file (the CommonsenseQA shape with 4 choices).

    ``fact1`` (the open-book fact, in the "Additional" files), ``humanScore``,
    ``clarity`` and ``turkIdAnswer`` go into ``metadata`` when present. The
    arguments, result and errors are those of :func:`read_csqa`.
    """
    p = _check_file(path)
    counter = _ChoiceCount(num_choices, "this data set")
    return _collect(p, _jsonl_records(p), lambda n, r: _parse_qa_json(n, r, counter), skip_invalid)


# --------------------------------------------------------------------------- SWAG

_SWAG_REGULAR = ("video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source",
                 "ending0", "ending1", "ending2", "ending3")
_SWAG_FULL = ("video-id", "fold-ind", "startphrase", "gold-ending", "distractor-0",
              "distractor-1", "distractor-2", "distractor-3", "gold-source", "gold-type",
              "sent1", "sent2")


def _swag_gold_position(example_id: str, n: int) -> int:
    """Where the gold ending goes among ``n`` choices in a ``_full`` SWAG file:
    fixed by the example id (not always first), the same on every run."""
    digest = hashlib.sha256(example_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n


def _parse_swag(line_no: int, row: dict[str, str], full: bool) -> MultipleChoiceExample:
    example_id = row[""] if row.get("", "").strip() else f"{row['video-id']}:{row['fold-ind']}"
    context = _text(row["sent1"], "sent1")
    start = row["sent2"].strip()
    if full:
        gold = _text(row["gold-ending"], "gold-ending")
        distractors = [_text(row[f"distractor-{i}"], f"distractor-{i}") for i in range(4)]
        pos = _swag_gold_position(example_id, 5)
        endings = distractors[:pos] + [gold] + distractors[pos:]
        label: int | None = pos
    else:
        endings = [_text(row[f"ending{i}"], f"ending{i}") for i in range(4)]
        label = None
        raw = row.get("label", "").strip()
        if raw:
            try:
                label = int(raw)
            except ValueError:
                raise _RecordError(f"'label' must be an integer 0-3, not {raw!r}", "label") from None
            if not 0 <= label < 4:
                raise _RecordError(f"'label' must be an integer 0-3, not {label}", "label")
    choices = [f"{start} {e.strip()}" if start else e.strip() for e in endings]
    metadata = {
        "video_id": row["video-id"],
        "fold_ind": row["fold-ind"],
        "startphrase": row["startphrase"],
        "sent2": row["sent2"],
        "gold_source": row["gold-source"],
    }
    return MultipleChoiceExample(example_id, context, choices, label, metadata)


def read_swag(path: PathLike, *, skip_invalid: bool = False) -> ExampleList:
    """Read a SWAG CSV file, regular or ``_full``.

    Regular files (``train.csv``, ``val.csv``, ``test.csv``) have the columns
    ``[index,] video-id, fold-ind, startphrase, sent1, sent2, gold-source,
    ending0..3[, label]``. The question is ``sent1``; choice ``i`` is
    ``sent2 + " " + ending{i}`` (the convention of the Hugging Face SWAG
    scripts). Without a ``label`` column (the test file) labels are ``None``.

    ``_full`` files (``train_full.csv``, ``val_full.csv``) have ``gold-ending``
    and ``distractor-0..3`` instead: the five endings become five choices, the
    gold one at a position fixed by the example id (deterministic, not always
    first).

    The id is the leading unnamed index column when there is one, otherwise
    ``"{video-id}:{fold-ind}"``. ``metadata`` holds ``video_id``, ``fold_ind``,
    ``startphrase``, ``sent2`` and ``gold_source``.

    Raises:
        DatasetFormatError: missing columns (naming them), a row with the wrong
            number of fields, an empty ending, a label that is not 0-3, or an
            empty file.
    """
    p = _check_file(path)
    header, rows = _csv_table(p, ",")
    full = "gold-ending" in header
    required = _SWAG_FULL if full else _SWAG_REGULAR
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetFormatError(
            p, 1, f"not a SWAG CSV header: missing column(s) {', '.join(missing)}", missing[0]
        )
    return _collect(p, rows(), lambda n, r: _parse_swag(n, r, full), skip_invalid)


# --------------------------------------------------------------------------- generic


def _lookup(record: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = record
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif dotted in record:  # a flat CSV column whose name contains dots
            return True, record[dotted]
        else:
            return False, None
    return True, value


def _fill_template(template: str, parts: Mapping[str, str]) -> str:
    """``template`` with each ``{field}`` replaced (dotted names are plain keys here)."""
    import string

    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(parts[name])
    return "".join(out)


def _generic_label(raw: Any, choices: int, mapping: ColumnMapping, name: str | None = None) -> int:
    name = name or mapping.label
    kind = mapping.label_kind
    index: int | None = None
    if isinstance(raw, bool):
        raise _RecordError(f"{name!r}: expected a choice index or letter, not {raw!r}", name)
    if isinstance(raw, int) and kind != "letter":
        index = raw - mapping.first_index
    elif isinstance(raw, str):
        text = raw.strip()
        if kind != "letter" and text.lstrip("-").isdigit():
            index = int(text) - mapping.first_index
        elif kind != "index" and len(text) == 1 and text.upper() in _LETTERS:
            index = _LETTERS.index(text.upper())
    if index is None:
        expected = {"auto": "a choice index or letter", "index": "a choice index",
                    "letter": "a choice letter"}[kind]
        raise _RecordError(f"{name!r}: expected {expected}, not {raw!r}", name)
    if not 0 <= index < choices:
        raise _RecordError(f"{name!r}: answer {raw!r} is out of range for {choices} choices", name)
    return index


_NO_LABEL = object()


def _parse_generic(
    line_no: int,
    record: Any,
    mapping: ColumnMapping,
    counter: _ChoiceCount,
    stem: str,
    external_label: Any = _NO_LABEL,
) -> MultipleChoiceExample:
    if not isinstance(record, Mapping):
        raise _RecordError(f"expected a JSON object, found {type(record).__name__}")
    found, value = (False, None) if mapping.id is None else _lookup(record, mapping.id)
    example_id = _id(value, mapping.id) if found and mapping.id is not None else f"{stem}-{line_no}"
    if mapping.question_template is None:
        found, value = _lookup(record, mapping.question)
        if not found:
            raise _RecordError(f"missing field {mapping.question!r}", mapping.question)
        question = _text(value, mapping.question)
    else:
        parts: dict[str, str] = {}
        for name in mapping.template_fields:
            found, value = _lookup(record, name)
            if not found:
                raise _RecordError(f"missing field {name!r} (question_template)", name)
            parts[name] = _text(value, name)
        question = _fill_template(mapping.question_template, parts)
    choices: list[str] = []
    if isinstance(mapping.choices, str):
        name = mapping.choices
        found, value = _lookup(record, name)
        if not found:
            raise _RecordError(f"missing field {name!r}", name)
        if isinstance(value, str):  # a CSV cell holding a JSON list
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise _RecordError(f"{name!r} must be a list of choices", name) from None
        if not isinstance(value, list) or not value:
            raise _RecordError(f"{name!r} must be a non-empty list of choices", name)
        counter.check(line_no, len(value), name)
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                if mapping.choice_text not in item:
                    raise _RecordError(
                        f"missing field '{name}[{i}].{mapping.choice_text}'",
                        f"{name}[{i}].{mapping.choice_text}",
                    )
                item = item[mapping.choice_text]
            choices.append(_text(item, f"{name}[{i}]"))
    else:
        for name in mapping.choices:
            found, value = _lookup(record, name)
            if not found:
                raise _RecordError(f"missing field {name!r}", name)
            choices.append(_text(value, name))
        counter.check(line_no, len(choices), "choices")
    label: int | None = None
    if external_label is not _NO_LABEL:
        if external_label is not None and external_label != "":
            label = _generic_label(external_label, len(choices), mapping, "labels file")
    elif mapping.label is not None:
        found, raw = _lookup(record, mapping.label)
        if found and raw is not None and raw != "":
            label = _generic_label(raw, len(choices), mapping)
    metadata: dict[str, Any] = {}
    for name in mapping.metadata:
        found, value = _lookup(record, name)
        if found:
            metadata[name] = value
    return MultipleChoiceExample(example_id, question, choices, label, metadata)


def read_multiple_choice(
    path: PathLike,
    columns: ColumnMapping | None = None,
    *,
    format: Literal["auto", "jsonl", "csv", "tsv"] = "auto",
    skip_invalid: bool = False,
    labels_file: PathLike | None = None,
) -> ExampleList:
    """Read any JSONL, CSV or TSV multiple-choice file through a column mapping.

    Args:
        path: the file (``.gz`` is decompressed).
        columns: where the question, choices, label and id are; the default
            mapping reads ``{"id", "question", "choices": [...], "label"}``.
        format: ``"auto"`` guesses from the suffix (``.jsonl``/``.json`` ->
            JSONL, ``.csv``, ``.tsv``).
        skip_invalid: skip malformed records (reported in ``.skipped`` and a
            logged warning) instead of raising.
        labels_file: the answers in a separate file, one a line, the n-th line
            for the n-th record (:func:`read_labels_file`); read with the
            mapping's ``label_kind`` and ``first_index`` (Social IQa: 1, PIQA:
            0); the mapping's ``label`` field is then not used.

    Raises:
        DatasetFormatError: a malformed record (``path:line: ...`` naming the
            field), an inconsistent number of choices, an unknown format, an
            empty file, or a labels file whose line count differs from the
            number of records.

    Example:
        >>> import json, tempfile, pathlib
        >>> from kglm.datasets import ColumnMapping, read_multiple_choice
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "quiz.jsonl"
        >>> _ = path.write_text(json.dumps({"qid": "q1", "q": "2 + 2 = ?",
        ...     "options": ["3", "4"], "answer": "B"}) + "\\n")
        >>> mapping = ColumnMapping(question="q", choices="options", label="answer", id="qid")
        >>> read_multiple_choice(path, mapping)[0]
        MultipleChoiceExample(id='q1', question='2 + 2 = ?', choices=['3', '4'], label=1, metadata={})
    """
    p = _check_file(path)
    mapping = columns if columns is not None else ColumnMapping()
    if format == "auto":
        suffix = inner_suffix(p)
        formats = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
        if suffix not in formats:
            raise DatasetFormatError(
                p, None, f"cannot tell the format from the suffix {suffix!r}; pass format="
                "'jsonl', 'csv' or 'tsv'"
            )
        format = formats[suffix]  # type: ignore[assignment]
    if format == "jsonl":
        records: Iterator[tuple[int, Any]] = _jsonl_records(p)
    elif format in ("csv", "tsv"):
        header, rows = _csv_table(p, "," if format == "csv" else "\t")
        wanted = list(mapping.template_fields)
        wanted += [mapping.choices] if isinstance(mapping.choices, str) else list(mapping.choices)
        missing = [c for c in wanted if c not in header]
        if missing:
            raise DatasetFormatError(
                p, 1, f"missing column(s) {', '.join(missing)}; the header has {', '.join(header)}",
                missing[0],
            )
        records = rows()
    else:
        raise ValueError(f"unknown format {format!r}; expected 'auto', 'jsonl', 'csv' or 'tsv'")
    counter = _ChoiceCount(mapping.num_choices, "this mapping")
    stem = p.name.split(".")[0]
    if labels_file is None:
        return _collect(
            p, records, lambda n, r: _parse_generic(n, r, mapping, counter, stem), skip_invalid
        )
    labels = read_labels_file(labels_file)
    records = list(records)
    if len(records) != len(labels):
        raise DatasetFormatError(
            labels_file, None, f"has {len(labels)} labels but {p} has {len(records)} records"
        )
    label_of = {line_no: label for (line_no, _), label in zip(records, labels)}
    return _collect(
        p,
        iter(records),
        lambda n, r: _parse_generic(n, r, mapping, counter, stem, label_of[n]),
        skip_invalid,
    )


def read_labels_file(path: PathLike) -> list[str]:
    """The answers of a labels file (``dev-labels.lst``): one per line, blank lines kept as unlabeled.

    A trailing newline does not make an extra record.

    Raises:
        DatasetFormatError: not UTF-8, or empty.
    """
    p = _check_file(path)
    try:
        with _open_text(p) as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(p, None, f"not UTF-8 text ({exc.reason})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DatasetFormatError(p, None, "labels file is empty")
    return [line.strip() for line in lines]


def read_hf_dataset(
    dataset: Any,
    columns: ColumnMapping | None = None,
    *,
    labels: Sequence[Any] | None = None,
    split: str | None = None,
    skip_invalid: bool = False,
) -> ExampleList | dict[str, ExampleList]:
    """Read a Hugging Face ``datasets.Dataset`` (or ``DatasetDict``) through a column mapping.

    Args:
        dataset: a ``Dataset``, or a ``DatasetDict`` (then each split is read and
            a ``{split: ExampleList}`` dict returned); any sequence of row dicts
            works too.
        columns: as for :func:`read_multiple_choice`; a row without the id
            column gets ``"{split}-{row}"`` (rows counted from 1).
        labels: answers kept apart from the rows (one per row), read like a
            labels file.
        split: the name used in generated ids and error messages (default:
            the dataset's ``split``, else ``"train"``).
        skip_invalid: skip malformed rows (reported in ``.skipped``).

    Raises:
        DatasetFormatError: ``"<split>:<row>: ..."`` naming the column.

    Example:
        >>> from kglm.datasets import ColumnMapping, read_hf_dataset
        >>> rows = [{"goal": "open a jar", "sol1": "twist the lid", "sol2": "eat the lid", "label": 0}]
        >>> ex = read_hf_dataset(rows, ColumnMapping(question="goal", choices=("sol1", "sol2")), split="valid")
        >>> ex[0].id, ex[0].question, ex[0].choices, ex[0].label
        ('valid-1', 'open a jar', ['twist the lid', 'eat the lid'], 0)
    """
    if isinstance(dataset, Mapping):  # a DatasetDict (a dict subclass) or a plain {split: rows}
        return {
            str(name): read_hf_dataset(part, columns, split=str(name), skip_invalid=skip_invalid)  # type: ignore[misc]
            for name, part in dataset.items()
        }
    mapping = columns if columns is not None else ColumnMapping()
    name = split or str(getattr(dataset, "split", None) or "train")
    if labels is not None and len(labels) != len(dataset):
        raise DatasetFormatError(name, None, f"{len(labels)} labels for {len(dataset)} rows")
    counter = _ChoiceCount(mapping.num_choices, "this mapping")
    rows = ((i + 1, row) for i, row in enumerate(dataset))
    if labels is None:
        return _collect(
            Path(name), rows, lambda n, r: _parse_generic(n, r, mapping, counter, name), skip_invalid
        )
    return _collect(
        Path(name),
        rows,
        lambda n, r: _parse_generic(n, r, mapping, counter, name, labels[n - 1]),
        skip_invalid,
    )


# --------------------------------------------------------------------------- dispatch


def _sniff_jsonl(path: Path) -> str:
    """``"csqa"`` when the first record has the CommonsenseQA shape, else ``"jsonl"``."""
    for _, record in _jsonl_records(path):
        if (
            isinstance(record, dict)
            and isinstance(record.get("question"), dict)
            and "stem" in record["question"]
            and "choices" in record["question"]
        ):
            return "csqa"
        return "jsonl"
    raise DatasetFormatError(path, None, "file is empty, no examples in it")


def _sniff_csv(path: Path) -> str:
    try:
        with _open_text(path) as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(path, None, f"not UTF-8 text ({exc.reason})") from None
    if header is None:
        raise DatasetFormatError(path, None, "file is empty, no examples in it")
    if "sent1" in header and ("ending0" in header or "gold-ending" in header):
        return "swag"
    return "csv"


def read_examples(
    path: PathLike,
    format: ExampleFormat = "auto",
    *,
    columns: ColumnMapping | None = None,
    skip_invalid: bool = False,
    labels_file: PathLike | None = None,
) -> ExampleList:
    """Read a multiple-choice file in any supported format.

    Args:
        path: the file.
        format: ``"csqa"``, ``"obqa"``, ``"swag"``, ``"jsonl"``, ``"csv"``,
            ``"tsv"`` or ``"auto"``: JSONL whose records look like
            CommonsenseQA/OpenBookQA (``question.stem`` and
            ``question.choices``) is read as such, with any consistent number
            of choices; a CSV with SWAG's columns as SWAG; anything else through
            ``columns`` (:func:`read_multiple_choice`).
        columns: the column mapping for generic files; giving one (or
            ``labels_file``) reads a JSONL file through it even when it looks
            like CommonsenseQA.
        skip_invalid: skip malformed records, reported in ``.skipped``.
        labels_file: answers in a separate file (generic formats only; see
            :func:`read_multiple_choice`).

    Raises:
        DatasetFormatError: see the individual readers.
        ValueError: an unknown ``format``.
    """
    p = _check_file(path)
    if format == "auto":
        suffix = inner_suffix(p)
        generic = columns is not None or labels_file is not None
        if suffix in (".jsonl", ".json"):
            format = "jsonl" if generic else _sniff_jsonl(p)  # type: ignore[assignment]
        elif suffix == ".csv":
            format = "csv" if generic else _sniff_csv(p)  # type: ignore[assignment]
        elif suffix == ".tsv":
            format = "tsv"
        else:
            raise DatasetFormatError(
                p, None, f"cannot tell the format from the suffix {suffix!r}; pass format="
                "'csqa', 'obqa', 'swag', 'jsonl', 'csv' or 'tsv'"
            )
        if format == "csqa":
            return read_csqa(p, num_choices=None, skip_invalid=skip_invalid)
    if format == "csqa":
        return read_csqa(p, skip_invalid=skip_invalid)
    if format == "obqa":
        return read_obqa(p, skip_invalid=skip_invalid)
    if format == "swag":
        return read_swag(p, skip_invalid=skip_invalid)
    if labels_file is not None and format not in ("jsonl", "csv", "tsv"):
        raise ValueError(f"labels_file works with the jsonl, csv and tsv formats, not {format!r}")
    if format in ("jsonl", "csv", "tsv"):
        return read_multiple_choice(
            p, columns, format=format, skip_invalid=skip_invalid, labels_file=labels_file  # type: ignore[arg-type]
        )
    raise ValueError(
        f"unknown format {format!r}; expected one of auto, csqa, obqa, swag, jsonl, csv, tsv"
    )
