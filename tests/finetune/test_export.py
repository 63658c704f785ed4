"""``promptlib.finetune.export_training_data``: a labelled dataset rendered through a
template into OpenAI or Bedrock training files that pass the checker, split without
leakage, reproducibly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from promptlib import (
    Assistant,
    ChainOfThought,
    Example,
    FewShot,
    JsonOutput,
    System,
    Template,
    Untrusted,
    User,
)
from promptlib._errors import ConfigurationError
from promptlib.evals import load_dataset
from promptlib.evals._dataset import Case, Dataset
from promptlib.finetune import check_file, export_training_data

LABELS = {"billing": 30, "claims": 20, "other": 10}
SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}


class Ticket(BaseModel):
    ticket: Untrusted


class Route(BaseModel):
    label: Literal["billing", "claims", "other"]


SHOTS = [
    Example({"ticket": "Why was I charged twice?"}, Route(label="billing")),
    Example({"ticket": "My claim has been pending for weeks."}, Route(label="claims")),
]


def router(*before_ticket: Any, shots: bool = True, version: str = "1.0.0") -> Template:
    """The template: instructions, few-shot examples, then ``before_ticket`` blocks and the
    ticket."""
    blocks: list[Any] = [System("You route insurance tickets."), JsonOutput()]
    if shots:
        blocks.append(FewShot(SHOTS))
    blocks += [*before_ticket, User("{{ ticket | delimit('ticket') }}")]
    return Template(
        blocks, name="router", version=version, inputs=Ticket, output=Route, model="gpt-4o-mini"
    )


def tickets() -> Dataset:
    cases = []
    for label, count in LABELS.items():
        for i in range(count):
            text = f"{label} ticket {i}: please help with my {label} question number {i}."
            cases.append(Case(f"{label}-{i:02d}", {"ticket": text}, {"label": label}))
    return Dataset("tickets", tuple(cases))


def lines(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (lines end at \\n only, as JSONL's do)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def by_input(dataset: Dataset) -> dict[str, Case]:
    return {case.inputs["ticket"]: case for case in dataset}


def asked(record: dict[str, Any]) -> str:
    """The ticket text of an exported line: the last user turn, undelimited."""
    user = [m for m in record["messages"] if m["role"] == "user"][-1]["content"]
    return user.split("<ticket>\n", 1)[1].split("\n</ticket>", 1)[0]


# --- round trips through the checker ----------------------------------------------------------


def test_an_openai_export_passes_the_check_line_for_line(tmp_path):
    data = tickets()
    result = export_training_data(data, router(), tmp_path / "ft", stratify="expected")
    assert set(result.files) == {"train", "validation", "test"}
    assert sum(result.counts.values()) == len(data)
    cases = by_input(data)
    for name, path in result.files.items():
        assert path == tmp_path / "ft" / f"{name}.jsonl"
        report = check_file(path, "gpt-4o-mini", label="label")
        assert report.format == "openai"
        assert report.errors == {}, name
        assert report.examples == result.counts[name]
        assert report.missing_system == report.missing_user == 0
        assert sorted(report.labels.values()) == sorted(result.labels[name].values())
        for record in lines(path):
            roles = [m["role"] for m in record["messages"]]
            assert roles == ["system", "user", "assistant"]  # few-shot dropped by default
            case = cases[asked(record)]
            assert json.loads(record["messages"][-1]["content"]) == case.expected
            assert "weight" not in record["messages"][-1]
    # The training file is big enough to pass; the held-out files are small (a problem,
    # not a format error).
    assert check_file(result.files["train"], "gpt-4o-mini").ok


def test_a_bedrock_export_passes_the_check_and_alternates(tmp_path):
    data = tickets()
    result = export_training_data(
        data, router(), tmp_path / "ft", format="bedrock", stratify="expected", few_shot=True
    )
    cases = by_input(data)
    for name, path in result.files.items():
        report = check_file(path, "claude-3-haiku", example_limit=4096)
        assert report.format == "bedrock"
        assert report.errors == {}, name
        assert check_file(path, "claude-3-haiku", example_limit=4096, format="bedrock").errors == {}
        for record in lines(path):
            assert set(record) == {"system", "messages"}
            assert record["system"].startswith("You route insurance tickets.")
            roles = [m["role"] for m in record["messages"]]
            assert roles == ["user", "assistant"] * 3  # two examples, then the case
            assert all(set(m) == {"role", "content"} for m in record["messages"])
            expected = cases[asked(record)].expected
            assert json.loads(record["messages"][-1]["content"]) == expected


def test_a_dataset_file_exports_like_one_built_in_code(tmp_path):
    file = tmp_path / "tickets.jsonl"
    file.write_text(
        "".join(
            json.dumps({"id": c.id, "inputs": dict(c.inputs), "expected": c.expected}) + "\n"
            for c in tickets()
        ),
        encoding="utf-8",
    )
    from_file = export_training_data(load_dataset(file), router(), tmp_path / "a", seed=3)
    in_code = export_training_data(tickets(), router(), tmp_path / "b", seed=3)
    for name in SHARES:
        assert from_file.files[name].read_bytes() == in_code.files[name].read_bytes()


# --- splits --------------------------------------------------------------------------------------


def test_stratified_splits_keep_each_labels_share_within_one_example(tmp_path):
    result = export_training_data(tickets(), router(), tmp_path / "ft", stratify="expected")
    assert result.counts == {"train": 48, "validation": 6, "test": 6}
    for name, share in SHARES.items():
        found = {
            json.loads(k.replace("'", '"'))["label"]: v for k, v in result.labels[name].items()
        }
        assert set(found) == set(LABELS)
        for label, total in LABELS.items():
            assert abs(found[label] - share * total) <= 1, (name, label, found)
        exported = [
            json.loads(r["messages"][-1]["content"])["label"] for r in lines(result.files[name])
        ]
        assert {label: exported.count(label) for label in LABELS} == found


def test_the_manifest_puts_every_case_in_exactly_one_split(tmp_path):
    data = tickets()
    result = export_training_data(data, router(), tmp_path / "ft", seed=7, stratify="expected")
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert result.manifest == tmp_path / "ft" / "manifest.json"
    splits = manifest["splits"]
    assert list(splits) == ["train", "validation", "test"]
    ids = [case_id for part in splits.values() for case_id in part]
    assert len(ids) == len(set(ids)) == len(data)
    assert set(ids) == set(data.ids)
    cases = by_input(data)
    for name, part in splits.items():
        assert [cases[asked(r)].id for r in lines(result.files[name])] == part
        assert list(result.datasets[name].ids) == part
    assert manifest["format"] == "openai"
    assert manifest["template"] == "router@1.0.0"
    assert manifest["template_hash"] == router().hash
    assert manifest["dataset"] == {"name": "tickets", "hash": data.hash}
    assert (manifest["seed"], manifest["stratify"], manifest["few_shot"]) == (7, "expected", False)


def test_cases_with_the_same_inputs_land_in_the_same_split(tmp_path):
    data = tickets()
    twins = tuple(
        Case(f"twin-{i}", {"ticket": "Same words, twice."}, {"label": "other"}) for i in range(2)
    )
    data = Dataset("tickets", data.cases + twins)
    for seed in range(5):
        result = export_training_data(data, router(), tmp_path / str(seed), seed=seed)
        splits = json.loads(result.manifest.read_text(encoding="utf-8"))["splits"]
        homes = {name for name, part in splits.items() if {"twin-0", "twin-1"} & set(part)}
        assert len(homes) == 1
        (home,) = homes
        assert {"twin-0", "twin-1"} <= set(splits[home])


def test_the_same_seed_writes_the_same_files_and_another_seed_other_ones(tmp_path):
    first = export_training_data(tickets(), router(), tmp_path / "a", seed=1, stratify="expected")
    again = export_training_data(tickets(), router(), tmp_path / "b", seed=1, stratify="expected")
    other = export_training_data(tickets(), router(), tmp_path / "c", seed=2, stratify="expected")
    for name in SHARES:
        assert first.files[name].read_bytes() == again.files[name].read_bytes()
    assert first.manifest.read_bytes() == again.manifest.read_bytes()
    assert first.files["train"].read_bytes() != other.files["train"].read_bytes()
    assert first.datasets["test"].ids != other.datasets["test"].ids
    assert first.counts == other.counts  # the same sizes, other cases


def test_custom_splits_and_a_bad_split_are_handled(tmp_path):
    result = export_training_data(
        tickets(), router(), tmp_path / "ft", splits={"train": 0.5, "test": 0.5}
    )
    assert result.counts == {"train": 30, "test": 30}
    assert not (tmp_path / "ft" / "validation.jsonl").exists()
    with pytest.raises(ConfigurationError):
        export_training_data(tickets(), router(), tmp_path / "bad", splits={"train": 0.7})


# --- few-shot examples and weights -------------------------------------------------------------


def test_few_shot_false_drops_the_examples(tmp_path):
    result = export_training_data(tickets(), router(), tmp_path / "ft", few_shot=False)
    for record in lines(result.files["train"]):
        text = json.dumps(record)
        assert "charged twice" not in text
        assert "pending for weeks" not in text
        assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]


def test_few_shot_true_keeps_them_with_weight_0_when_the_answer_has_weight_1(tmp_path):
    result = export_training_data(tickets(), router(), tmp_path / "ft", few_shot=True, weight=1)
    for record in lines(result.files["train"]):
        messages = record["messages"]
        assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * 3]
        assert messages[1]["content"] == "Why was I charged twice?"
        assert json.loads(messages[2]["content"]) == {"label": "billing"}
        assert [m.get("weight") for m in messages if m["role"] == "assistant"] == [0, 0, 1]
        assert all("weight" not in m for m in messages if m["role"] != "assistant")
    report = check_file(result.files["train"], "gpt-4o-mini")
    assert report.errors == {}
    without = export_training_data(tickets(), router(), tmp_path / "plain", few_shot=False)
    leaner = check_file(without.files["train"], "gpt-4o-mini")
    assert leaner.billable_tokens < report.billable_tokens


def test_few_shot_without_a_weight_writes_no_weights(tmp_path):
    result = export_training_data(tickets(), router(), tmp_path / "ft", few_shot=True)
    for record in lines(result.files["train"]):
        assert all("weight" not in m for m in record["messages"])


def test_weight_0_is_written_on_the_answer(tmp_path):
    result = export_training_data(tickets(), router(), tmp_path / "ft", weight=0)
    assert all(r["messages"][-1]["weight"] == 0 for r in lines(result.files["train"]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight": 2}, "weight=2: OpenAI takes 0 or 1"),
        ({"weight": 1, "format": "bedrock"}, "the Bedrock format has none"),
        ({"format": "jsonl"}, "use 'openai' or 'bedrock'"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, options, message):
    with pytest.raises(ConfigurationError, match=message):
        export_training_data(tickets(), router(), tmp_path / "ft", **options)
    assert not (tmp_path / "ft").exists()


# --- what cannot be exported -------------------------------------------------------------------


def test_an_expected_value_that_does_not_fit_the_output_model_names_the_case(tmp_path):
    data = tickets()
    bad = Case("bad-1", {"ticket": "Where is my refund?"}, {"label": "refunds"})
    data = Dataset("tickets", (*data.cases, bad))
    out = tmp_path / "ft"
    with pytest.raises(
        ConfigurationError, match=r"case 'bad-1'.*output model Route of router@1\.0\.0"
    ):
        export_training_data(data, router(), out)
    assert not out.exists() or list(out.iterdir()) == []  # nothing written


def test_a_case_without_an_expected_value_names_the_case(tmp_path):
    data = Dataset("tickets", (*tickets().cases, Case("unlabelled", {"ticket": "Hi"})))
    with pytest.raises(ConfigurationError, match="case 'unlabelled' has no expected output"):
        export_training_data(data, router(), tmp_path / "ft")
    assert not any((tmp_path / "ft").glob("*"))


def test_a_case_whose_inputs_do_not_render_names_the_case(tmp_path):
    data = Dataset(
        "tickets", (*tickets().cases, Case("no-ticket", {"text": "hi"}, {"label": "other"}))
    )
    with pytest.raises(ConfigurationError, match="case 'no-ticket' does not render"):
        export_training_data(data, router(), tmp_path / "ft")
    assert not any((tmp_path / "ft").glob("*"))


def test_a_failed_export_leaves_an_earlier_export_as_it_was(tmp_path):
    out = tmp_path / "ft"
    first = export_training_data(tickets(), router(), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = Dataset("tickets", (*tickets().cases, Case("bad", {"ticket": "x"}, {"label": 1})))
    with pytest.raises(ConfigurationError, match="holds an earlier export"):
        export_training_data(bad, router(), out, seed=9)
    with pytest.raises(ConfigurationError, match="case 'bad'"):
        export_training_data(bad, router(), out, seed=9, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert first.files["train"].exists()


def test_a_chain_of_thought_template_is_refused(tmp_path):
    thinking = Template(
        [
            System("Route tickets."),
            ChainOfThought(),
            JsonOutput(),
            User("{{ ticket | delimit('ticket') }}"),
        ],
        name="thinking-router",
        version="1.0.0",
        inputs=Ticket,
        output=Route,
    )
    with pytest.raises(ConfigurationError, match="chain-of-thought"):
        export_training_data(tickets(), thinking, tmp_path / "ft")
    assert not any((tmp_path / "ft").glob("*.jsonl"))


def test_a_text_template_takes_text_answers_only(tmp_path):
    class Text(BaseModel):
        ticket: str

    text = Template(
        [System("Answer the ticket in one sentence."), User("{{ ticket }}")],
        name="reply",
        version="1.0.0",
        inputs=Text,
    )
    ok = Dataset(
        "replies", tuple(Case(f"r{i}", {"ticket": f"t{i}"}, f"Answer {i}.") for i in range(10))
    )
    result = export_training_data(ok, text, tmp_path / "ok", splits={"train": 1.0})
    records = lines(result.files["train"])
    assert sorted(r["messages"][-1]["content"] for r in records) == sorted(
        f"Answer {i}." for i in range(10)
    )
    assert check_file(result.files["train"], "gpt-4o-mini").ok
    bad = Dataset("replies", (*ok.cases, Case("obj", {"ticket": "t"}, {"label": "x"})))
    with pytest.raises(ConfigurationError, match=r"case 'obj'.*answers in text.*dict"):
        export_training_data(bad, text, tmp_path / "bad", splits={"train": 1.0})


# --- the Bedrock format's own rules --------------------------------------------------------------


def test_bedrock_merges_consecutive_turns_of_one_role(tmp_path):
    # Without its examples, this template has two user turns in a row (the intro and the
    # ticket); the Bedrock format alternates strictly, so they become one turn. Every
    # system message goes to the top-level "system".
    template = Template(
        [
            System("You route insurance tickets."),
            JsonOutput(),
            User("Here are examples of routed tickets."),
            FewShot(SHOTS),
            User("{{ ticket | delimit('ticket') }}"),
        ],
        name="router",
        version="1.1.0",
        inputs=Ticket,
        output=Route,
    )
    data = tickets()
    openai = export_training_data(data, template, tmp_path / "o", splits={"train": 1.0})
    bedrock = export_training_data(
        data, template, tmp_path / "b", format="bedrock", splits={"train": 1.0}
    )
    first_openai, first_bedrock = lines(openai.files["train"])[0], lines(bedrock.files["train"])[0]
    assert [m["role"] for m in first_openai["messages"]] == ["system", "user", "user", "assistant"]
    assert [m["role"] for m in first_bedrock["messages"]] == ["user", "assistant"]
    intro, ticket = (m["content"] for m in first_openai["messages"][1:3])
    assert first_bedrock["messages"][0]["content"] == f"{intro}\n\n{ticket}"
    assert first_bedrock["system"] == first_openai["messages"][0]["content"]
    assert check_file(bedrock.files["train"], "claude-3-haiku", example_limit=4096).errors == {}
    with_shots = export_training_data(
        data, template, tmp_path / "s", format="bedrock", few_shot=True, splits={"train": 1.0}
    )
    record = lines(with_shots.files["train"])[0]
    assert [m["role"] for m in record["messages"]] == ["user", "assistant"] * 3
    assert record["messages"][0]["content"].startswith("Here are examples of routed tickets.\n\n")
    assert check_file(with_shots.files["train"], "claude-3-haiku", example_limit=4096).errors == {}


def test_a_bedrock_export_never_writes_a_file_its_check_rejects(tmp_path):
    template = Template(
        [
            System("You route insurance tickets."),
            JsonOutput(),
            Assistant("Hello! Paste the ticket and I will route it."),
            User("{{ ticket | delimit('ticket') }}"),
        ],
        name="greeter",
        version="1.0.0",
        inputs=Ticket,
        output=Route,
    )
    try:
        result = export_training_data(
            tickets(), template, tmp_path / "ft", format="bedrock", splits={"train": 1.0}
        )
    except ConfigurationError:
        return  # refusing the template is a fine answer
    assert check_file(result.files["train"], "claude-3-haiku", example_limit=4096).errors == {}


def test_a_bedrock_answer_after_a_prefill_is_still_the_expected_json(tmp_path):
    template = Template(
        [
            System("Route tickets."),
            JsonOutput(),
            User("{{ ticket | delimit('ticket') }}"),
            Assistant("{"),
        ],
        name="prefilled",
        version="1.0.0",
        inputs=Ticket,
        output=Route,
    )
    try:
        result = export_training_data(
            tickets(), template, tmp_path / "ft", format="bedrock", splits={"train": 1.0}
        )
    except ConfigurationError:
        return  # refusing a prefilled template is a fine answer
    for record in lines(result.files["train"]):
        answer = record["messages"][-1]["content"]
        assert json.loads(answer)["label"] in LABELS


def test_text_with_a_unicode_line_separator_survives_the_round_trip(tmp_path):
    data = Dataset(
        "tickets",
        tuple(
            Case(f"c{i}", {"ticket": f"line one\u2028line two {i}"}, {"label": "other"})
            for i in range(12)
        ),
    )
    result = export_training_data(data, router(), tmp_path / "ft", splits={"train": 1.0})
    assert len(lines(result.files["train"])) == 12
    report = check_file(result.files["train"], "gpt-4o-mini")
    assert report.errors == {}
    assert report.examples == 12
