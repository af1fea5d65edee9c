"""Readers for CommonsenseQA, OpenBookQA, SWAG and generic multiple-choice files."""

from __future__ import annotations

import doctest
import gzip
import json
import logging
from pathlib import Path

import pytest

import kglm.datasets
import kglm.datasets.bundled
import kglm.datasets.readers
from kglm.datasets import (
    ColumnMapping,
    DatasetFormatError,
    MultipleChoiceExample,
    read_csqa,
    read_examples,
    read_multiple_choice,
    read_obqa,
    read_swag,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _csqa(id_: str, stem: str, texts: list[str], key: str | None, concept: str = "x") -> dict:
    record: dict = {
        "id": id_,
        "question": {
            "question_concept": concept,
            "choices": [{"label": "ABCDE"[i], "text": t} for i, t in enumerate(texts)],
            "stem": stem,
        },
    }
    if key is not None:
        record["answerKey"] = key
    return record


def _write_jsonl(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FIVE = ["bank", "library", "mall", "school", "zoo"]


# --------------------------------------------------------------------------- CSQA


def test_read_csqa(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "dev.jsonl", [
        _csqa("q1", "Where is money kept?", FIVE, "A", concept="money"),
        "",
        _csqa("q2", "Where are books?", FIVE, "B", concept="book"),
    ])
    examples = read_csqa(path)
    assert examples == [
        MultipleChoiceExample("q1", "Where is money kept?", FIVE, 0,
                              {"choice_labels": list("ABCDE"), "question_concept": "money"}),
        MultipleChoiceExample("q2", "Where are books?", FIVE, 1,
                              {"choice_labels": list("ABCDE"), "question_concept": "book"}),
    ]
    assert examples.skipped == []
    assert examples.path == str(path)
    assert repr(examples) == f"ExampleList(2 examples, 0 skipped, path={str(path)!r})"


def test_read_csqa_unlabeled_test_file(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "test.jsonl", [
        _csqa("t1", "Where?", FIVE, None), {**_csqa("t2", "Where?", FIVE, None), "answerKey": ""},
    ])
    assert [e.label for e in read_csqa(path)] == [None, None]


def test_read_csqa_gzip(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps(_csqa("q1", "Where?", FIVE, "E")) + "\n")
    assert read_csqa(path)[0].label == 4
    assert read_examples(path)[0].label == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "q2", "question": ', "invalid JSON: Expecting value (column 26)"),
        ("[1, 2]", "expected a JSON object, found list"),
        (json.dumps({"question": {"stem": "s", "choices": []}}), "missing field 'id'"),
        (json.dumps({"id": "q2"}), "missing field 'question'"),
        (json.dumps({"id": "q2", "question": "text"}),
         "'question' must be an object with 'stem' and 'choices'"),
        (json.dumps({"id": "q2", "question": {"choices": []}}), "missing field 'question.stem'"),
        (json.dumps({"id": "q2", "question": {"stem": " ", "choices": []}}),
         "'question.stem' is empty"),
        (json.dumps({"id": "q2", "question": {"stem": "s", "choices": []}}),
         "'question.choices' must be a non-empty list"),
        (json.dumps(_csqa("q2", "Where?", FIVE[:4], "A")),
         "'question.choices': expected 5 choices for this data set, found 4"),
        (json.dumps(_csqa("q2", "Where?", FIVE, "F")),
         "'answerKey': unknown answer key 'F', the choices are A, B, C, D, E"),
        (json.dumps(_csqa("q2", "Where?", ["a", "b", "c", "d", 5], "A")),
         "'question.choices[4].text' must be a string, not int"),
        (json.dumps({"id": "q2", "question": {"stem": "s", "choices": [{"label": "A"}] * 5}}),
         "missing field 'question.choices[0].text'"),
        (json.dumps({"id": "q2", "question": {"stem": "s", "choices": [{"label": "A", "text": "t"}] * 5}}),
         "'question.choices[1].label': duplicate choice label 'A'"),
    ],
)
def test_read_csqa_bad_line_names_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = _write_jsonl(tmp_path / "bad.jsonl", [_csqa("q1", "Where?", FIVE, "A"), line])
    with pytest.raises(DatasetFormatError) as info:
        read_csqa(path)
    assert str(info.value) == f"{path}:2: {message}"
    assert info.value.line == 2
    assert info.value.path == str(path)


def test_error_carries_the_field(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "bad.jsonl", [_csqa("q1", "Where?", FIVE, "Z")])
    with pytest.raises(DatasetFormatError) as info:
        read_csqa(path)
    assert info.value.field == "answerKey"
    assert isinstance(info.value, ValueError)


def test_inconsistent_number_of_choices(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "mixed.jsonl", [
        _csqa("q1", "Where?", FIVE[:3], "A"), _csqa("q2", "Where?", FIVE[:3], "B"),
        _csqa("q3", "Where?", FIVE[:4], "A"),
    ])
    with pytest.raises(DatasetFormatError, match=r":3: 'question.choices': expected 3 choices as on line 1, found 4$"):
        read_csqa(path, num_choices=None)


def test_skip_invalid_reports_and_counts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write_jsonl(tmp_path / "some_bad.jsonl", [
        _csqa("q1", "Where?", FIVE, "A"), "{not json", _csqa("q3", "Where?", FIVE, "Q"),
        _csqa("q4", "Where?", FIVE, "C"),
    ])
    with caplog.at_level(logging.WARNING, logger="kglm.datasets.readers"):
        examples = read_csqa(path, skip_invalid=True)
    assert [e.id for e in examples] == ["q1", "q4"]
    assert [(e.line, e.field) for e in examples.skipped] == [(2, None), (3, "answerKey")]
    assert str(examples.skipped[1]) == (
        f"{path}:3: 'answerKey': unknown answer key 'Q', the choices are A, B, C, D, E"
    )
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith(
        f"{path}: skipped 2 invalid record(s), kept 2; first: {path}:2: invalid JSON"
    )


def test_skip_invalid_with_nothing_valid_is_an_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "all_bad.jsonl", ["{", "["])
    with pytest.raises(DatasetFormatError, match=r"all_bad.jsonl: no valid examples: all 2 records are invalid"):
        read_csqa(path, skip_invalid=True)


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    for reader in (read_csqa, read_obqa, read_examples, read_multiple_choice):
        with pytest.raises(DatasetFormatError) as info:
            reader(path)
        assert str(info.value) == f"{path}: file is empty, no examples in it"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.jsonl: no such file"):
        read_csqa(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetFormatError, match="is a directory"):
        read_examples(tmp_path)


# --------------------------------------------------------------------------- OBQA


def test_read_obqa_with_fact(tmp_path: Path) -> None:
    record = {
        "id": "7-980",
        "question": {"stem": "The sun is responsible for",
                     "choices": [{"text": t, "label": l} for t, l in zip("wxyz", "ABCD")]},
        "answerKey": "D",
        "fact1": "the sun is the source of energy for physical cycles on Earth",
        "humanScore": "1.00",
    }
    path = _write_jsonl(tmp_path / "obqa.jsonl", [record, {**record, "id": "7-981", "answerKey": "A"}])
    examples = read_obqa(path)
    assert examples[0] == MultipleChoiceExample(
        "7-980", "The sun is responsible for", ["w", "x", "y", "z"], 3,
        {"choice_labels": ["A", "B", "C", "D"],
         "fact1": "the sun is the source of energy for physical cycles on Earth", "humanScore": "1.00"},
    )
    assert examples[1].label == 0
    with pytest.raises(DatasetFormatError, match=r"obqa.jsonl:1: 'question.choices': expected 5 choices"):
        read_csqa(path)
    # auto: the CommonsenseQA shape with any consistent number of choices
    assert read_examples(path) == examples


# --------------------------------------------------------------------------- SWAG

SWAG_HEADER = ",video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label\n"
SWAG_ROWS = (
    '0,lsmdc1052-94857,18313,"Students lower their eyes nervously. She",'
    'Students lower their eyes nervously.,She,gold,"pats her shoulder, then leaves.",'
    "turns with two students.,walks slowly towards someone.,wheels around.,0\n"
    '1,anetv_jkn6uvmqwh4,3,"A man is sitting. He","A man is sitting.",He,gen,'
    '"stands up\nand waves.",sits down.,runs.,swims.,2\n'
    "2,anetv_x,4,The dog runs. It,The dog runs.,It,gen,barks.,sleeps.,flies.,sings.,3\n"
)


def test_read_swag_regular(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text(SWAG_HEADER + SWAG_ROWS)
    examples = read_swag(path)
    assert [e.id for e in examples] == ["0", "1", "2"]
    assert examples[0] == MultipleChoiceExample(
        "0", "Students lower their eyes nervously.",
        ["She pats her shoulder, then leaves.", "She turns with two students.",
         "She walks slowly towards someone.", "She wheels around."],
        0,
        {"video_id": "lsmdc1052-94857", "fold_ind": "18313",
         "startphrase": "Students lower their eyes nervously. She", "sent2": "She", "gold_source": "gold"},
    )
    assert examples[1].choices[0] == "He stands up\nand waves."
    assert [e.label for e in examples] == [0, 2, 3]
    assert read_examples(path) == examples


def test_read_swag_line_numbers_follow_multiline_fields(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text(SWAG_HEADER + SWAG_ROWS.replace(",3\n", ",7\n"))
    # row 3 starts on line 5: the header, row 1, row 2 spanning lines 3-4
    with pytest.raises(DatasetFormatError) as info:
        read_swag(path)
    assert str(info.value) == f"{path}:5: 'label' must be an integer 0-3, not 7"
    assert info.value.field == "label"


def test_read_swag_test_file_without_label(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    header = "video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3\n"
    path.write_text(header + "v1,9,A cat. It,A cat.,It,gen,purrs.,barks.,flies.,sings.\n")
    (example,) = read_swag(path)
    assert example.id == "v1:9"
    assert example.label is None
    assert example.choices == ["It purrs.", "It barks.", "It flies.", "It sings."]


def test_read_swag_full(tmp_path: Path) -> None:
    header = (",video-id,fold-ind,startphrase,gold-ending,distractor-0,distractor-1,distractor-2,"
              "distractor-3,gold-source,gold-type,distractor-0-type,distractor-1-type,"
              "distractor-2-type,distractor-3-type,sent1,sent2\n")
    rows = "".join(
        f"{i},vid{i},{i},The dog runs. It,barks.,sleeps.,flies.,sings.,reads.,gold,orig,gen,gen,gen,gen,"
        "The dog runs.,It\n"
        for i in range(6)
    )
    path = tmp_path / "val_full.csv"
    path.write_text(header + rows)
    examples = read_swag(path)
    assert len(examples) == 6
    for e in examples:
        assert len(e.choices) == 5
        assert e.choices[e.label] == "It barks."
        assert sorted(e.choices) == ["It barks.", "It flies.", "It reads.", "It sings.", "It sleeps."]
        assert [c for c in e.choices if c != "It barks."] == ["It sleeps.", "It flies.", "It sings.", "It reads."]
    # the gold position depends on the id, is stable, and is not always the same
    assert [e.label for e in examples] == [e.label for e in read_swag(path)]
    assert len({e.label for e in examples}) > 1


def test_read_swag_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("video-id,sent1,ending0\nv,a,b\n")
    with pytest.raises(DatasetFormatError) as info:
        read_swag(path)
    assert str(info.value) == (
        f"{path}:1: not a SWAG CSV header: missing column(s) fold-ind, startphrase, sent2, "
        "gold-source, ending1, ending2, ending3"
    )
    path.write_text(SWAG_HEADER + "0,v,1,s,s1,s2,gold,a,b,c\n")
    with pytest.raises(DatasetFormatError, match=r"train.csv:2: expected 12 fields as in the header, found 10$"):
        read_swag(path)
    path.write_text(SWAG_HEADER + "0,v,1,s,s1,s2,gold,a,,c,d,0\n")
    with pytest.raises(DatasetFormatError, match=r"train.csv:2: 'ending1' is empty$"):
        read_swag(path)
    path.write_text(SWAG_HEADER + "0,v,1,s,s1,s2,gold,a,b,c,d,x\n1,v,2,s,s1,s2,gold,a,b,c,d,1\n")
    examples = read_swag(path, skip_invalid=True)
    assert [e.id for e in examples] == ["1"]
    assert [str(e) for e in examples.skipped] == [f"{path}:2: 'label' must be an integer 0-3, not 'x'"]
    path.write_text(SWAG_HEADER)
    with pytest.raises(DatasetFormatError, match=r"train.csv: file has a header but no examples$"):
        read_swag(path)
    path.write_text("")
    with pytest.raises(DatasetFormatError, match=r"train.csv: file is empty"):
        read_swag(path)


# --------------------------------------------------------------------------- generic


def test_generic_jsonl_letters_and_nested_fields(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "quiz.jsonl", [
        {"qid": 7, "q": {"text": "2 + 2?"}, "options": [{"t": "3"}, {"t": "4"}], "answer": "b", "src": "m"},
        {"qid": "8", "q": {"text": "1 + 1?"}, "options": [{"t": "2"}, {"t": "5"}]},
    ])
    mapping = ColumnMapping(question="q.text", choices="options", label="answer", id="qid",
                            choice_text="t", metadata=("src",))
    assert read_multiple_choice(path, mapping) == [
        MultipleChoiceExample("7", "2 + 2?", ["3", "4"], 1, {"src": "m"}),
        MultipleChoiceExample("8", "1 + 1?", ["2", "5"], None, {}),
    ]


def test_generic_csv_columns_and_one_based_index(tmp_path: Path) -> None:
    path = tmp_path / "quiz.csv"
    path.write_text("question,a,b,c,answer\nWhat is cold?,ice,fire,sun,1\nWhat is hot?,ice,fire,sun,2\n")
    mapping = ColumnMapping(choices=("a", "b", "c"), label="answer", id=None, first_index=1)
    examples = read_multiple_choice(path, mapping)
    assert examples == [
        MultipleChoiceExample("quiz-2", "What is cold?", ["ice", "fire", "sun"], 0, {}),
        MultipleChoiceExample("quiz-3", "What is hot?", ["ice", "fire", "sun"], 1, {}),
    ]
    assert read_examples(path, columns=mapping) == examples


def test_generic_tsv_with_json_list_cell(tmp_path: Path) -> None:
    path = tmp_path / "quiz.tsv"
    path.write_text('id\tquestion\tchoices\tlabel\nx\tPick one\t["a", "b", "c"]\t2\n')
    assert read_examples(path) == [MultipleChoiceExample("x", "Pick one", ["a", "b", "c"], 2, {})]


@pytest.mark.parametrize(
    ("record", "mapping", "message"),
    [
        ({"id": "1", "question": "q", "choices": ["a", "b"], "label": 2}, ColumnMapping(),
         "'label': answer 2 is out of range for 2 choices"),
        ({"id": "1", "question": "q", "choices": ["a", "b"], "label": "C"}, ColumnMapping(),
         "'label': answer 'C' is out of range for 2 choices"),
        ({"id": "1", "question": "q", "choices": ["a", "b"], "label": "A"},
         ColumnMapping(label_kind="index"), "'label': expected a choice index, not 'A'"),
        ({"id": "1", "question": "q", "choices": ["a", "b"], "label": 0},
         ColumnMapping(label_kind="letter"), "'label': expected a choice letter, not 0"),
        ({"id": "1", "question": "q", "choices": ["a", "b"], "label": True}, ColumnMapping(),
         "'label': expected a choice index or letter, not True"),
        ({"id": "1", "question": "q", "choices": "a", "label": 0}, ColumnMapping(),
         "'choices' must be a list of choices"),
        ({"id": "1", "question": "q", "choices": ["a", "b", "c"], "label": 0},
         ColumnMapping(num_choices=2), "'choices': expected 2 choices for this mapping, found 3"),
        ({"id": "1", "choices": ["a", "b"]}, ColumnMapping(), "missing field 'question'"),
        ({"id": True, "question": "q", "choices": ["a", "b"]}, ColumnMapping(), "'id' must be a string or an integer"),
        ({"id": "1", "question": "q", "choices": ["a", ""]}, ColumnMapping(), "'choices[1]' is empty"),
        ({"id": "1", "question": "q", "x": "a"}, ColumnMapping(choices=("x", "y")), "missing field 'y'"),
    ],
)
def test_generic_bad_records(tmp_path: Path, record: dict, mapping: ColumnMapping, message: str) -> None:
    path = _write_jsonl(tmp_path / "quiz.jsonl", [record])
    with pytest.raises(DatasetFormatError) as info:
        read_multiple_choice(path, mapping)
    assert str(info.value) == f"{path}:1: {message}"


def test_generic_csv_missing_column_and_bad_format(tmp_path: Path) -> None:
    path = tmp_path / "quiz.csv"
    path.write_text("question,options\nq,a\n")
    with pytest.raises(DatasetFormatError) as info:
        read_multiple_choice(path)
    assert str(info.value) == f"{path}:1: missing column(s) choices; the header has question, options"
    other = tmp_path / "quiz.txt"
    other.write_text("x\n")
    with pytest.raises(DatasetFormatError, match=r"quiz.txt: cannot tell the format from the suffix '.txt'"):
        read_examples(other)
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        read_examples(path, format="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_generic_csv_empty_and_header_only(tmp_path: Path, suffix: str) -> None:
    """The CSV/TSV reader shares SWAG's header handling (empty file, header without rows)."""
    path = tmp_path / f"quiz{suffix}"
    path.write_text("")
    with pytest.raises(DatasetFormatError) as info:
        read_multiple_choice(path, ColumnMapping(choices=("a", "b")))
    assert str(info.value) == f"{path}: file is empty, no examples in it"
    path.write_text("id\tquestion\ta\tb\tlabel\n" if suffix == ".tsv" else "id,question,a,b,label\n")
    with pytest.raises(DatasetFormatError) as info:
        read_multiple_choice(path, ColumnMapping(choices=("a", "b")))
    assert str(info.value) == f"{path}: file has a header but no examples"


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_compressed_csv_format_from_inner_suffix(tmp_path: Path, suffix: str) -> None:
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
    path = tmp_path / f"quiz.csv{suffix}"
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("id,question,a,b,label\nx,q,1,2,0\n")
    assert read_examples(path, columns=ColumnMapping(choices=("a", "b")))[0].id == "x"


def test_column_mapping_validation() -> None:
    with pytest.raises(ValueError, match="label_kind must be"):
        ColumnMapping(label_kind="number")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least two column names"):
        ColumnMapping(choices=("a",))
    with pytest.raises(ValueError, match="num_choices must be at least 2"):
        ColumnMapping(num_choices=1)


# --------------------------------------------------------------------------- bundled data and docs


def test_read_bundled_questions() -> None:
    examples = read_examples(kglm.datasets.bundled.demo_questions_path())
    assert len(examples) == 53
    assert examples[0].id == "demo-001"
    assert examples[0].choices[examples[0].label] == "fridge"
    assert examples[0].metadata["question_concept"] == "milk"
    assert all(len(e.choices) == 5 and e.label is not None for e in examples)


@pytest.mark.parametrize("module", [kglm.datasets, kglm.datasets.readers, kglm.datasets.bundled])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------- real data


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real data file {relative} not found under {SHARED_DATA}")
    return path


@pytest.mark.slow
def test_real_csqa_dev_and_test() -> None:
    dev = read_csqa(_shared("csqa/dev_rand_split.jsonl"))
    assert len(dev) == 1221
    assert dev.skipped == []
    assert dev[0].id == "1afa02df02c908a558b4036e80242fac"
    assert dev[0].metadata["question_concept"] == "revolving door"
    assert dev[0].choices == ["bank", "library", "department store", "mall", "new york"]
    assert dev[0].label == 0
    assert all(e.label is not None for e in dev)
    test = read_examples(_shared("csqa/test_rand_split_no_answers.jsonl"))
    assert len(test) == 1140
    assert all(e.label is None and len(e.choices) == 5 for e in test)


@pytest.mark.slow
def test_real_obqa_dev() -> None:
    dev = read_obqa(_shared("obqa/dev.jsonl"))
    assert len(dev) == 500
    assert all(len(e.choices) == 4 and e.label is not None for e in dev)
    assert read_examples(_shared("obqa/dev.jsonl")) == dev


# --------------------------------------------------------------------------- encoding and ids


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps(_csqa("q1", "Where?", FIVE, "A")).encode() + b"\n")
    assert read_csqa(jsonl)[0].id == "q1"
    csv_path = tmp_path / "bom.csv"
    csv_path.write_bytes(b"\xef\xbb\xbfid,question,a,b,label\nx,q,1,2,0\n")
    assert read_multiple_choice(csv_path, ColumnMapping(choices=("a", "b")))[0].id == "x"


def test_invalid_utf8(tmp_path: Path) -> None:
    jsonl = tmp_path / "latin1.jsonl"
    jsonl.write_bytes(json.dumps(_csqa("q1", "Where?", FIVE, "A")).encode() + b"\n" + b'{"id": "caf\xe9"}\n')
    with pytest.raises(DatasetFormatError) as info:
        read_csqa(jsonl)
    assert str(info.value) == f"{jsonl}:2: not UTF-8 text: byte 12 is invalid"
    csv_path = tmp_path / "latin1.csv"
    csv_path.write_bytes(b"id,question,a,b,label\nx,caf\xe9,1,2,0\n")
    with pytest.raises(DatasetFormatError, match=r"latin1.csv: not UTF-8 text"):
        read_examples(csv_path, columns=ColumnMapping(choices=("a", "b")))


def test_duplicate_ids(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "dup.jsonl", [
        _csqa("q1", "Where?", FIVE, "A"), _csqa("q2", "Where?", FIVE, "A"), _csqa("q1", "Why?", FIVE, "B"),
    ])
    with pytest.raises(DatasetFormatError) as info:
        read_csqa(path)
    assert str(info.value) == f"{path}:3: 'id': duplicate id 'q1' (first on line 1)"
    assert [e.question for e in read_csqa(path, skip_invalid=True)] == ["Where?", "Where?"]
