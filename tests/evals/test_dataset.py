"""Datasets: the three formats, column mapping, hashes, and a file:line error for every bad
input."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from promptlib import ConfigurationError, Untrusted, UsageError
from promptlib.evals import Case, Dataset, DatasetError, load_dataset

REPO = Path(__file__).resolve().parents[2]


class TicketInputs(BaseModel):
    ticket: Untrusted
    priority: int = 0


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def jsonl(*records: Any) -> str:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    )


def case(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"c{i}", "inputs": {"ticket": f"ticket {i}"}, "expected": "low", **extra}


# --- JSONL ------------------------------------------------------------------------------------


def test_jsonl_reads_cases_with_sources_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tickets.jsonl",
        jsonl(case(1, tags=["smoke"], metadata={"lang": "en"}), "", "   ", case(2)),
    )
    dataset = load_dataset(path)
    assert dataset.name == "tickets"
    assert dataset.path == path
    assert len(dataset) == 2
    first = dataset["c1"]
    assert first.inputs == {"ticket": "ticket 1"}
    assert first.expected == "low"
    assert first.tags == ("smoke",)
    assert first.metadata == {"lang": "en"}
    assert first.source == f"{path}:1"
    assert dataset["c2"].source == f"{path}:4"
    assert [c.id for c in dataset] == ["c1", "c2"]


def test_case_inputs_and_metadata_are_read_only(tmp_path: Path) -> None:
    dataset = load_dataset(write(tmp_path, "d.jsonl", jsonl(case(1, metadata={"a": 1}))))
    with pytest.raises(TypeError):
        dataset["c1"].inputs["ticket"] = "changed"  # type: ignore[index]
    with pytest.raises(TypeError):
        dataset["c1"].metadata["a"] = 2  # type: ignore[index]


def test_jsonl_accepts_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    text = jsonl(case(1), case(2)).replace("\n", "\r\n")
    path = write(tmp_path, "d.jsonl", b"\xef\xbb\xbf" + text.encode())
    assert load_dataset(path).ids == ("c1", "c2")


def test_jsonl_keeps_line_separators_inside_strings(tmp_path: Path) -> None:
    record = case(1)
    record["inputs"]["ticket"] = "a\u2028b\u0085c"
    path = write(tmp_path, "d.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    assert load_dataset(path)["c1"].inputs["ticket"] == "a\u2028b\u0085c"


def test_integer_ids_are_read_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl({"id": 7, "inputs": {"ticket": "x"}}))
    assert load_dataset(path).ids == ("7",)


def test_name_is_the_stem_unless_given(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(case(1)))
    assert load_dataset(path, name="other").name == "other"
    assert load_dataset(str(path)).name == "d"


def test_a_custom_id_field(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl({"key": "k1", "inputs": {"ticket": "x"}}))
    assert load_dataset(path, id_field="key").ids == ("k1",)


# --- errors, each naming file:line ----------------------------------------------------------


def error_of(path: Path, **options: Any) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **options)
    error = info.value
    assert isinstance(error, UsageError)
    return error


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('{"id": "c2", "inputs": {"ticket": "x"}', "not JSON"),
        ("[1, 2]", "JSON array, not an object"),
        ('"text"', "JSON string"),
        ('{"id": "c2", "id": "c3", "inputs": {}}', "'id' appears twice"),
        ('{"id": "c2", "inputs": {"n": NaN}}', "NaN is not a JSON number"),
        ('{"id": "c2", "inputs": {"n": 1' + "0" * 5000 + "}}", "not usable JSON"),
        ('{"id": "c2", "inputs": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests too deeply"),
    ],
)
def test_a_bad_json_line_is_named(tmp_path: Path, line: str, needle: str) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(case(1), line))
    error = error_of(path)
    assert (error.path, error.line) == (str(path), 2)
    assert str(error).startswith(f"{path}:2: ")
    assert needle in str(error)


@pytest.mark.parametrize(
    ("record", "field", "needle"),
    [
        ({"inputs": {"ticket": "x"}}, "id", "has no 'id'"),
        ({"id": "", "inputs": {}}, "id", "has no 'id'"),
        ({"id": ["a"], "inputs": {}}, "id", "an id is text"),
        ({"id": True, "inputs": {}}, "id", "an id is text"),
        ({"id": "c", "input": {"ticket": "x"}}, "input", "did you mean 'inputs'"),
        ({"id": "c"}, "id", "has no 'inputs'"),
        ({"id": "c", "inputs": "x"}, "inputs", "must be an object"),
        ({"id": "c", "inputs": {}, "tags": "a,b"}, "tags", "list of text labels"),
        ({"id": "c", "inputs": {}, "tags": ["a", 1]}, "tags[1]", "each tag is non-empty text"),
        ({"id": "c", "inputs": {}, "metadata": [1]}, "metadata", "must be an object"),
    ],
)
def test_a_malformed_case_names_line_and_field(
    tmp_path: Path, record: dict[str, Any], field: str, needle: str
) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(case(1), record))
    error = error_of(path)
    assert error.line == 2
    assert error.field == field
    assert needle in str(error)


def test_a_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(case(1), case(2), case(1)))
    error = error_of(path)
    assert error.line == 3
    assert error.case_id == "c1"
    assert f"first at {path}:1" in str(error)
    assert "used twice" in str(error)


def test_inputs_failing_the_model_name_case_field_and_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.jsonl",
        jsonl(
            case(1),
            {"id": "c2", "inputs": {"priority": 1}},
            {"id": "c3", "inputs": {"ticket": "x", "priority": "high"}},
        ),
    )
    error = error_of(path, inputs_model=TicketInputs)
    assert (error.line, error.case_id, error.field) == (2, "c2", "inputs.ticket")
    message = str(error)
    assert message.startswith(f"{path}:2: case 'c2': inputs.ticket: Field required")
    assert f"{path}:3: case 'c3': inputs.priority:" in message
    assert "2 of 3 cases" in message


def test_validate_returns_the_dataset_and_names_the_template(tmp_path: Path) -> None:
    dataset = load_dataset(write(tmp_path, "d.jsonl", jsonl(case(1))))
    assert dataset.validate(TicketInputs) is dataset
    bad = Dataset("x", (Case("a", {"priority": 2}),))
    with pytest.raises(DatasetError, match=r"template 'triage@1\.0\.0'") as info:
        bad.validate(TicketInputs, template="triage@1.0.0")
    assert info.value.path is None
    assert "(no file): case 'a'" in str(info.value)


def test_validate_lists_at_most_ten_problems() -> None:
    bad = Dataset("x", tuple(Case(f"c{i}", {}) for i in range(25)))
    with pytest.raises(DatasetError, match=r"\.\.\. and 15 more"):
        bad.validate(TicketInputs)


def test_validate_wants_a_model_class() -> None:
    with pytest.raises(UsageError, match="pydantic model class"):
        Dataset("x", ()).validate(dict)  # type: ignore[arg-type]


def test_empty_files_are_refused(tmp_path: Path) -> None:
    for name, text in [("a.jsonl", ""), ("b.jsonl", "\n \n"), ("c.csv", ""), ("d.yaml", "")]:
        error = error_of(write(tmp_path, name, text))
        assert "empty" in str(error)
        assert error.line == 1
    assert "empty" in str(error_of(write(tmp_path, "e.yaml", "# only a comment\n")))
    assert "empty" in str(error_of(write(tmp_path, "f.csv", "\n\n")))
    for name, text in [("g.csv", "id,ticket\n"), ("h.yaml", "[]\n"), ("i.yaml", "cases: []\n")]:
        assert "has no cases" in str(error_of(write(tmp_path, name, text)))


def test_columns_apply_only_to_tables(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(case(1)))
    with pytest.raises(ConfigurationError, match="leave columns= out"):
        load_dataset(path, columns={"text": "input:ticket"})


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(*(case(i) for i in range(50))))
    error = error_of(path, max_bytes=100)
    assert "larger than 100 bytes" in str(error)
    assert error.path == str(path)


def test_a_file_over_200_megabytes_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as file:
        file.truncate(201 * 1024 * 1024)  # sparse: takes no space
    assert "larger than 209,715,200 bytes" in str(error_of(path))


def test_text_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", jsonl(case(1)).encode() + b'{"id": "\xff"}\n')
    error = error_of(path)
    assert error.line == 2
    assert "not UTF-8" in str(error)


def test_missing_files_folders_and_unknown_formats(tmp_path: Path) -> None:
    assert "cannot read" in str(error_of(tmp_path / "none.jsonl"))
    (tmp_path / "dir.jsonl").mkdir()
    assert "not a regular file" in str(error_of(tmp_path / "dir.jsonl"))
    message = str(error_of(write(tmp_path, "d.json", "[]")))
    assert "unknown dataset format '.json'" in message
    assert ".jsonl" in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    code = (
        "from promptlib.evals import load_dataset, DatasetError\n"
        f"try:\n    load_dataset({str(fifo)!r})\n"
        "except DatasetError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert "not a regular file" in out.stdout


def test_non_json_values_are_refused_naming_the_field() -> None:
    with pytest.raises(DatasetError, match=r"case 'a': inputs\.when: a date is not"):
        Case("a", {"when": datetime.date(2024, 1, 1)})
    with pytest.raises(DatasetError, match=r"expected\[1\]: inf is not a JSON number"):
        Case("a", {}, [1, float("inf")])
    with pytest.raises(DatasetError, match="a key of type int is not text"):
        Case("a", {}, {1: "x"})
    with pytest.raises(DatasetError, match="non-empty text"):
        Case("", {})


# --- CSV and TSV ------------------------------------------------------------------------------


def test_csv_by_default_maps_id_expected_tags_and_inputs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.csv",
        'id,ticket,expected,tags,priority\nt1,"Login, broken",high,smoke; auth,3\n'
        't2,"Line one\nline two",low,,1\n',
    )
    dataset = load_dataset(path, inputs_model=TicketInputs)
    assert dataset["t1"].inputs == {"ticket": "Login, broken", "priority": "3"}
    assert dataset["t1"].expected == "high"
    assert dataset["t1"].tags == ("smoke", "auth")
    assert dataset["t2"].tags == ()
    assert dataset["t2"].inputs["ticket"] == "Line one\nline two"
    assert dataset["t1"].source == f"{path}:2"
    assert dataset["t2"].source == f"{path}:3"


def test_tags_split_on_semicolons_and_commas(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", 'id,ticket,tags\nt1,x,"a,b;c , ;"\n')
    assert load_dataset(path)["t1"].tags == ("a", "b", "c")


def test_tsv_with_a_column_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.tsv",
        "text\tlabel\tlang\tignored\nMy bill is wrong\tBilling\ten\tz\n"
        "Cancel my policy\tAccount\tfr\tz\n",
    )
    dataset = load_dataset(
        path,
        columns={"text": "input:ticket", "label": "expected", "lang": "metadata:lang"},
    )
    assert dataset.ids == ("d-1", "d-2")
    assert dataset["d-2"].inputs == {"ticket": "Cancel my policy"}
    assert dataset["d-2"].expected == "Account"
    assert dataset["d-2"].metadata == {"lang": "fr"}


def test_rows_are_numbered_when_there_is_no_id_column(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "ticket\nx\n\ny\n")
    assert load_dataset(path).ids == ("t-1", "t-2")


def test_csv_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", b"\xef\xbb\xbfid,ticket\nt1,x\n")
    assert load_dataset(path)["t1"].inputs == {"ticket": "x"}


@pytest.mark.parametrize(
    ("text", "columns", "line", "needle"),
    [
        ("id,ticket\nt1,x\n,y\n", None, 3, "has no 'id'"),
        ("id,ticket\nt1,x\nt1,y\n", None, 3, "used twice"),
        ("id,ticket\nt1,x\nt2,y,z\n", None, 3, "3 fields but the header has 2"),
        ("id,ticket,ticket\nt1,x,y\n", None, 1, "'ticket' twice"),
        ("id,,x\nt1,x,y\n", None, 1, "column 2 of the header has no name"),
        ('id,ticket\nt1,"x\n', None, 2, "does not parse"),
        ('id,ticket\nt1,"x"y\n', None, 2, "does not parse"),
        ("id,ticket\nt1,x\n", {"text": "input:ticket"}, 1, "does not have"),
        ("id,ticket\nt1,x\n", {"ticket": "inputs:ticket"}, 1, "a column is one of"),
        ("id,ticket\nt1,x\n", {"ticket": "input:"}, 1, "a column is one of"),
        ("id,a,b\nt1,x,y\n", {"a": "expected", "b": "expected"}, 1, "both 'expected'"),
    ],
)
def test_csv_errors_name_the_line(
    tmp_path: Path, text: str, columns: dict[str, str] | None, line: int, needle: str
) -> None:
    error = error_of(write(tmp_path, "d.csv", text), columns=columns)
    assert error.line == line
    assert needle in str(error)


def test_a_csv_field_over_the_csv_limit_is_a_dataset_error(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "id,ticket\nt1," + "x" * 200_000 + "\n")
    assert "does not parse" in str(error_of(path))


# --- YAML -------------------------------------------------------------------------------------


def test_yaml_list_and_cases_mapping(tmp_path: Path) -> None:
    listed = write(
        tmp_path,
        "a.yaml",
        "- id: c1\n  inputs: {ticket: x}\n  expected: [a, b]\n  tags: [smoke]\n"
        "- id: 2\n  inputs:\n    ticket: y\n",
    )
    dataset = load_dataset(listed)
    assert dataset.ids == ("c1", "2")
    assert dataset["c1"].expected == ["a", "b"]
    assert dataset["2"].source == f"{listed}:5"
    mapped = write(tmp_path, "b.yml", "cases:\n  - id: c1\n    inputs: {ticket: x}\n")
    assert load_dataset(mapped)["c1"].source == f"{mapped}:2"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("- id: c1\n  inputs: {ticket: x\n", 3, "invalid YAML"),
        ("- id: c1\n  inputs: {}\n- id: c1\n  inputs: {}\n", 3, "used twice"),
        ("- id: c1\n  inputs: {}\n  inputs: {}\n", 3, "'inputs' appears twice"),
        ("- id: c1\n  inputs: {}\n- just text\n", 3, "each case is a mapping"),
        ("name: x\ncases: []\n", 1, "found 'name'"),
        ("cases: {a: 1}\n", 1, "a list of cases"),
        ("just text\n", 1, "a list of cases"),
        ("- id: c1\n  inputs: {}\n- id: c2\n  inputs:\n    when: 2024-01-01\n", 5, "quote it"),
        ("- id: c1\n  inputs: {}\n  tags:\n    - a\n    - 3\n", 5, "each tag"),
        ("- id: c1\n  inputs:\n    a: [1,\n      .nan]\n", 4, "nan is not a JSON number"),
        ("- id: c1\n  inputs: {}\n- id: c2\n  inputs: {}\n  tags: x\n", 5, "list of text"),
        ("- id: c1\n  inputs: {}\n  expectd: 1\n", 3, "did you mean 'expected'"),
        ("- id: c1\n  inputs: !!python/object:object {}\n", 2, "invalid YAML"),
    ],
)
def test_yaml_errors_name_the_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    error = error_of(write(tmp_path, "d.yaml", text))
    assert error.line == line
    assert needle in str(error)


def test_yaml_alias_bombs_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    bomb = ["- id: c1", "  inputs:", '    a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        bomb.append(f"    a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    error = error_of(write(tmp_path, "bomb.yaml", "\n".join(bomb) + "\n"))
    assert "aliases" in str(error)
    deep = "- id: c1\n  inputs: " + "[" * 200 + "]" * 200 + "\n"
    assert "nests" in str(error_of(write(tmp_path, "deep.yaml", deep)))


def test_yaml_aliases_within_bounds_are_expanded(tmp_path: Path) -> None:
    text = "- id: c1\n  inputs: &in {ticket: x}\n- id: c2\n  inputs: *in\n"
    dataset = load_dataset(write(tmp_path, "d.yaml", text))
    assert dataset["c2"].inputs == {"ticket": "x"}


# --- Dataset ----------------------------------------------------------------------------------


def test_getitem_of_an_unknown_id_suggests_close_ones() -> None:
    dataset = Dataset("d", (Case("ticket-1", {}), Case("ticket-2", {})))
    with pytest.raises(DatasetError, match="no case 'ticket-3'; did you mean"):
        dataset["ticket-3"]
    assert "ticket-1" in dataset
    assert "nope" not in dataset


def test_a_dataset_refuses_duplicate_ids_and_non_cases() -> None:
    with pytest.raises(DatasetError, match="used twice"):
        Dataset("d", (Case("a", {}), Case("a", {"x": 1})))
    with pytest.raises(DatasetError, match="is not a Case"):
        Dataset("d", ({"id": "a"},))  # type: ignore[arg-type]


def test_filter_keeps_cases_with_any_of_the_tags() -> None:
    dataset = Dataset(
        "d",
        (
            Case("a", {}, tags=("smoke",)),
            Case("b", {}, tags=("slow", "billing")),
            Case("c", {}),
        ),
    )
    assert dataset.filter(tags=["smoke", "billing"]).ids == ("a", "b")
    assert dataset.filter(tags="slow").ids == ("b",)
    assert dataset.filter().ids == ("a", "b", "c")
    assert dataset.filter(tags=["smoke"]).name == "d"


def test_cases_are_hashable_and_compare_by_value() -> None:
    assert Case("a", {"x": [1]}) == Case("a", {"x": [1]})
    assert len({Case("a", {"x": [1]}), Case("a", {"x": [1]})}) == 1


# --- hashes -----------------------------------------------------------------------------------


def test_the_hash_is_the_same_for_the_same_content_in_any_format(tmp_path: Path) -> None:
    a = load_dataset(write(tmp_path, "a.jsonl", jsonl({"id": "1", "inputs": {"ticket": "x"}})))
    b = load_dataset(write(tmp_path, "b.csv", "id,ticket\n1,x\n"))
    c = load_dataset(write(tmp_path, "c.yaml", "- {id: '1', inputs: {ticket: x}}\n"))
    assert a.hash == b.hash == c.hash
    assert a.hash.startswith("sha256:")
    d = Dataset("other-name", (Case("1", {"ticket": "x"}, source="elsewhere:9"),))
    assert d.hash == a.hash


def test_the_hash_is_stable_across_processes() -> None:
    code = (
        "from promptlib.evals import Case, Dataset\n"
        "print(Dataset('d', (Case('a', {'t': 'é', 'n': 1.5}, {'k': [1, None]}, ('x',), "
        "{'m': True}),)).hash)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "random"}
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(outputs) == 1


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    inputs=st.dictionaries(st.text(max_size=4), json_values, max_size=3),
    expected=json_values,
    tags=st.lists(st.text(min_size=1, max_size=4).filter(str.strip), max_size=2),
)
def test_any_change_changes_the_hash(
    inputs: dict[str, Any], expected: Any, tags: list[str]
) -> None:
    base = Case("a", inputs, expected, tuple(tags))
    reference = Dataset("d", (base,)).hash
    assert Dataset("d", (Case("a", dict(inputs), expected, tuple(tags)),)).hash == reference
    variants = [
        Case("b", inputs, expected, tuple(tags)),
        Case("a", {**inputs, "__extra": 1}, expected, tuple(tags)),
        Case("a", inputs, [expected], tuple(tags)),
        Case("a", inputs, expected, (*tags, "new-tag")),
        Case("a", inputs, expected, tuple(tags), {"m": 1}),
    ]
    for variant in variants:
        assert Dataset("d", (variant,)).hash != reference
    pair = (base, Case("z", {}))
    assert Dataset("d", pair).hash != Dataset("d", pair[::-1]).hash


# --- the shipped example ----------------------------------------------------------------------


def test_the_example_dataset_is_balanced_and_valid() -> None:
    dataset = load_dataset(REPO / "evals" / "datasets" / "insurance_tickets.jsonl")
    assert 50 <= len(dataset) <= 70
    labels: dict[str, int] = {}
    for item in dataset:
        labels[item.expected] = labels.get(item.expected, 0) + 1
        assert set(item.inputs) == {"ticket"}
    assert len(labels) == 10
    assert max(labels.values()) - min(labels.values()) <= 1
    assert all(item.id.startswith("ticket-") for item in dataset)


def test_importing_evals_stays_light() -> None:
    code = (
        "import sys, json, promptlib; assert 'promptlib.evals' not in sys.modules; "
        "import promptlib.evals; "
        "print(json.dumps([m for m in ['yaml', 'pydantic.main', 'promptlib.evals._dataset', "
        "'promptlib.evals._scorers', 'promptlib.evals._splits'] if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert json.loads(out.stdout) == []
