"""``promptlib.finetune.check_file``: the OpenAI cookbook's categories and figures, the
Bedrock format, the training table's limits and prices, and the data-quality warnings."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from promptlib._errors import ConfigurationError, PromptlibError
from promptlib._tokens.encodings import get_encoding
from promptlib.finetune import TrainingTable, check_file, default_epochs
from promptlib.finetune import _check as check_module

DATA = Path(__file__).resolve().parents[1] / "data" / "finetuning"
TOY = DATA / "openai_cookbook_toy_chat_fine_tuning.jsonl"
BEDROCK = DATA / "anthropic_cookbook_bedrock_json_mode_dataset.jsonl"

SYSTEM = {"role": "system", "content": "You answer briefly."}
USER = {"role": "user", "content": "hi"}
ANSWER = {"role": "assistant", "content": "hello"}


def chat(question: str, answer: str, *, system: str | None = "You answer briefly.") -> dict:
    messages = [{"role": "system", "content": system}] if system is not None else []
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return {"messages": messages}


def bedrock(question: str, answer: str) -> dict:
    return {
        "system": "You answer briefly.",
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
    }


def write(path: Path, lines: list[Any]) -> Path:
    """One line per item: a string is written as it is, anything else as JSON."""
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def distinct(n: int, **options: Any) -> list[dict]:
    return [chat(f"question number {i}", f"answer {i}", **options) for i in range(n)]


# --- the cookbook's toy file and the Bedrock sample -------------------------------------------


def test_the_toy_file_gives_the_cookbooks_figures():
    report = check_file(TOY, "gpt-3.5-turbo-0613")
    assert (report.format, report.model, report.encoding) == (
        "openai",
        "gpt-3.5-turbo-0613",
        "cl100k_base",
    )
    assert report.examples == 5
    assert report.errors == {}  # the cookbook finds no format errors in it
    assert (report.missing_system, report.missing_user) == (1, 1)
    assert (report.messages.min, report.messages.max) == (2, 9)
    assert (report.tokens.min, report.tokens.max) == (26, 8032)
    assert report.example_limit == 4096
    assert report.over_limit == [5]  # the "Eat a banana!" x 2000 reply
    assert report.billable_tokens == 4306
    assert report.epochs == 20
    assert report.charged_tokens == 86120
    assert report.training_price == Decimal("8.0")
    assert report.cost == Decimal("8.0") * 86120 / Decimal(1_000_000)
    # 5 examples is below OpenAI's minimum of 10: the check fails on that alone.
    assert not report.ok
    assert len(report.problems) == 1
    assert "5 examples" in report.problems[0]
    assert "at least 10" in report.problems[0]
    data = report.to_dict()
    json.dumps(data)  # stable JSON
    assert data["over_limit"] == {"count": 1, "lines": [5]}
    assert (data["billable_tokens"], data["epochs"], data["charged_tokens"]) == (4306, 20, 86120)
    assert data["tokens_per_example"]["min"] == 26
    assert data["tokens_per_example"]["max"] == 8032
    assert data["estimated_cost"] == "0.68896"
    assert "cl100k_base" in data["counts"]


def test_the_bedrock_sample_passes_as_bedrock():
    report = check_file(BEDROCK, "claude-3-haiku", example_limit=32_000)
    assert report.format == "bedrock"
    assert report.model == "claude-3-haiku-20240307"
    assert report.examples == 500
    assert report.errors == {}
    assert report.problems == []
    assert report.ok
    assert report.missing_system == 0
    assert report.missing_user == 0
    assert report.messages.min == report.messages.max == 3  # system, user, assistant
    assert report.over_limit == []
    assert report.billable_tokens > 0
    assert report.epochs == 3
    # The table has no Bedrock training price: the cost is unknown, never $0.
    assert report.training_price is None
    assert report.cost is None
    assert report.to_dict()["estimated_cost"] is None
    assert "overridden by you" in report.source
    forced = check_file(BEDROCK, "claude-3-haiku", example_limit=32_000, format="bedrock")
    assert forced.errors == {}
    assert forced.billable_tokens == report.billable_tokens


def test_a_bedrock_model_without_a_known_example_limit_asks_for_one():
    with pytest.raises(ConfigurationError, match="--example-limit"):
        check_file(BEDROCK, "claude-3-haiku")


def test_the_bedrock_sample_read_as_openai_misses_every_system_prompt(tmp_path):
    # The same records read as OpenAI lines: the system prompt is not a message there.
    head = write(tmp_path / "head.jsonl", BEDROCK.read_text(encoding="utf-8").splitlines()[:20])
    report = check_file(head, "gpt-4o-mini", format="openai")
    assert report.missing_system == 20


# --- format errors, category by category, with their lines ----------------------------------

OPENAI_BAD = [
    ("data_type", [1, 2], {"data_type"}),
    ("data_type", {"messages": [USER, "hi", ANSWER]}, {"data_type"}),
    ("missing_messages_list", {"messages": []}, {"missing_messages_list"}),
    ("missing_messages_list", {"prompt": "hi", "completion": "yo"}, {"missing_messages_list"}),
    (
        "message_missing_key",
        {"messages": [{"content": "hi"}, ANSWER]},
        {"message_missing_key", "unrecognized_role"},
    ),
    (
        "message_missing_key",
        {"messages": [{"role": "user"}, ANSWER]},
        {"message_missing_key", "missing_content"},
    ),
    (
        "message_unrecognized_key",
        {"messages": [{**USER, "extra": 1}, ANSWER]},
        {"message_unrecognized_key"},
    ),
    (
        "unrecognized_role",
        {"messages": [{"role": "robot", "content": "hi"}, ANSWER]},
        {"unrecognized_role"},
    ),
    ("missing_content", {"messages": [{"role": "user", "content": ""}, ANSWER]}, None),
    ("missing_content", {"messages": [{"role": "user", "content": 5}, ANSWER]}, None),
    ("missing_content", {"messages": [{"role": "user", "content": None}, ANSWER]}, None),
    ("example_missing_assistant_message", {"messages": [SYSTEM, USER]}, None),
    ("invalid_json", '{"messages": [', None),
    ("invalid_json", "not json at all", None),
    ("bad_weight", {"messages": [USER, {**ANSWER, "weight": 2}]}, None),
    ("bad_weight", {"messages": [USER, {**ANSWER, "weight": 0.5}]}, None),
]


@pytest.mark.parametrize(
    ("category", "line", "categories"),
    OPENAI_BAD,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(OPENAI_BAD)],
)
def test_each_openai_error_category_is_found_on_its_line(tmp_path, category, line, categories):
    # line 1 good, line 2 blank (still counted), line 3 bad, line 4 good
    good = chat("what is 2+2?", "4")
    file = write(tmp_path / "f.jsonl", [good, "", line, chat("and 3+3?", "6")])
    report = check_file(file, "gpt-4o-mini")
    assert report.format == "openai"
    assert report.errors == {c: [3] for c in (categories or {category})}
    assert not report.ok


BEDROCK_BAD = [
    ("data_type", '"just text"'),
    ("data_type", [1, 2]),
    ("invalid_json", "{"),
    ("unrecognized_key", {**bedrock("q", "a"), "extra": 1}),
    ("system_not_text", {**bedrock("q", "a"), "system": [{"text": "s"}]}),
    ("too_few_messages", {"system": "s", "messages": [USER]}),
    ("too_few_messages", {"system": "s", "messages": []}),
    ("first_not_user", {"system": "s", "messages": [ANSWER, USER, ANSWER]}),
    ("last_not_assistant", {"system": "s", "messages": [USER, ANSWER, USER]}),
    ("not_alternating", {"system": "s", "messages": [USER, USER, ANSWER]}),
    ("message_unrecognized_key", {"system": "s", "messages": [USER, {**ANSWER, "weight": 1}]}),
    (
        "unrecognized_role",
        {"system": "s", "messages": [USER, {"role": "human", "content": "x"}, ANSWER]},
    ),
    ("missing_content", {"system": "s", "messages": [USER, {"role": "assistant", "content": ""}]}),
    (
        "missing_content",
        {"system": "s", "messages": [USER, {"role": "assistant", "content": [{"text": "x"}]}]},
    ),
]


@pytest.mark.parametrize(
    ("category", "line"), BEDROCK_BAD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BEDROCK_BAD)]
)
def test_each_bedrock_error_category_is_found_on_its_line(tmp_path, category, line):
    file = write(tmp_path / "b.jsonl", [bedrock("q1", "a1"), "", line, bedrock("q2", "a2")])
    report = check_file(file, "claude-3-haiku", example_limit=8000)
    assert report.format == "bedrock"
    assert report.errors == {category: [3]}


def test_a_bedrock_message_with_a_system_role_is_unrecognized(tmp_path):
    line = {"messages": [{"role": "system", "content": "s"}, USER, ANSWER]}
    file = write(tmp_path / "b.jsonl", [line])
    report = check_file(file, "claude-3-haiku", example_limit=8000, format="bedrock")
    assert set(report.errors) == {"first_not_user", "unrecognized_role"}


def test_valid_tool_calls_and_content_parts_are_not_errors(tmp_path):
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    lines = [
        {"messages": [USER, {"role": "assistant", "tool_calls": [call]}]},
        {"messages": [USER, {"role": "assistant", "function_call": {"name": "f"}}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, ANSWER]},
        {"messages": [{**USER, "name": "ann"}, {**ANSWER, "weight": 0}]},
        {"messages": [{"role": "developer", "content": "d"}, USER, {**ANSWER, "weight": 1}]},
    ]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    assert report.errors == {}


def test_every_bad_line_is_listed_and_the_json_form_lists_ten(tmp_path):
    lines: list[Any] = []
    for i in range(30):
        lines.append(chat(f"q{i}", f"a{i}") if i % 2 else {"messages": [SYSTEM, USER]})
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    expected = list(range(1, 31, 2))
    assert report.errors == {"example_missing_assistant_message": expected}
    data = report.to_dict()["errors"]["example_missing_assistant_message"]
    assert data == {"count": 15, "lines": expected[:10]}


def test_an_error_still_counts_the_example_and_its_tokens(tmp_path):
    # A message with an extra key is an error, but the example is still an example.
    lines = [*distinct(11), {"messages": [{**USER, "extra": 1}, ANSWER]}]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    assert report.examples == 12
    assert report.errors == {"message_unrecognized_key": [12]}
    assert not report.ok


# --- token counts and the training bill -------------------------------------------------------


def cookbook_tokens(messages: list[dict], encoding: str) -> int:
    """The cookbook's per-message rule, written out: 3 per message, each string field's
    tokens, 1 more for a name, 3 for the reply's priming."""
    enc = get_encoding(encoding)
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            if key == "weight":
                continue
            total += len(enc.encode(value))
            if key == "name":
                total += 1
    return total


def test_tokens_follow_the_cookbooks_rule_with_the_models_encoding(tmp_path):
    text = "Prüfung: naïve café — 東京 🤖 " * 20
    line = {
        "messages": [
            SYSTEM,
            {"role": "user", "content": text, "name": "example_user"},
            {"role": "assistant", "content": "Sure." * 10, "weight": 1},
        ]
    }
    file = write(tmp_path / "f.jsonl", [line])
    old = check_file(file, "gpt-3.5-turbo-0613")
    new = check_file(file, "gpt-4o-mini")
    assert old.tokens.max == cookbook_tokens(line["messages"], "cl100k_base")
    assert new.tokens.max == cookbook_tokens(line["messages"], "o200k_base")
    assert old.tokens.max != new.tokens.max  # the encodings differ on this text
    assert old.assistant_tokens.max == len(get_encoding("cl100k_base").encode("Sure." * 10))


def test_the_table_gives_each_model_its_own_limit_encoding_and_price(tmp_path):
    file = write(tmp_path / "f.jsonl", distinct(20))
    report = check_file(file, "gpt-4o-mini")
    assert report.model == "gpt-4o-mini-2024-07-18"
    assert (report.example_limit, report.encoding) == (65536, "o200k_base")
    assert report.training_price == Decimal("3.0")
    assert report.cost == Decimal("3.0") * report.charged_tokens / Decimal(1_000_000)
    for name in ("openai:gpt-4o-mini", "ft:gpt-4o-mini-2024-07-18:acme::abc123"):
        assert check_file(file, name).model == "gpt-4o-mini-2024-07-18"
    assert check_file(file, "gpt-3.5-turbo-0125").example_limit == 16385


def test_an_example_over_the_limit_is_billed_at_the_limit(tmp_path):
    long = chat("tell me", "word " * 300)
    lines = [*distinct(10), long]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", example_limit=100)
    assert report.over_limit == [11]
    sizes = [cookbook_tokens(x["messages"], "o200k_base") for x in lines]
    assert sizes[-1] > 100
    assert report.billable_tokens == sum(min(100, n) for n in sizes)
    assert report.example_limit == 100


def test_an_unknown_model_is_refused_unless_its_figures_are_given(tmp_path):
    file = write(tmp_path / "f.jsonl", distinct(10))
    with pytest.raises(ConfigurationError, match="no fine-tuning figures for model 'my-model'"):
        check_file(file, "my-model")
    given = check_file(file, "my-model", example_limit=2048)
    assert (given.model, given.example_limit, given.encoding) == ("my-model", 2048, "o200k_base")
    assert given.training_price is None
    assert given.cost is None


def test_a_table_model_without_an_example_limit_asks_for_one(tmp_path):
    file = write(tmp_path / "f.jsonl", distinct(10))
    with pytest.raises(ConfigurationError, match="--example-limit"):
        check_file(file, "gpt-4.1-mini")
    assert check_file(file, "gpt-4.1-mini", example_limit=4096).training_price == Decimal("5.0")


@pytest.mark.parametrize("price", [Decimal("2.5"), 2.5, "2.5"])
def test_a_training_price_override_prices_the_charged_tokens(tmp_path, price):
    file = write(tmp_path / "f.jsonl", distinct(12))
    report = check_file(file, "gpt-4o-mini", training_price=price)
    assert report.training_price == Decimal("2.5")
    assert report.cost == Decimal("2.5") * report.charged_tokens / Decimal(1_000_000)
    assert "overridden by you" in report.source
    assert report.to_dict()["training_price_per_million"] == "2.5"


def test_given_epochs_replace_the_default(tmp_path):
    file = write(tmp_path / "f.jsonl", distinct(12))
    default = check_file(file, "gpt-4o-mini")
    assert default.epochs == default_epochs(12) == 8
    four = check_file(file, "gpt-4o-mini", epochs=4)
    assert four.epochs == 4
    assert four.charged_tokens == four.billable_tokens * 4
    for bad in (0, 51, -1):
        with pytest.raises(ConfigurationError, match="epochs"):
            check_file(file, "gpt-4o-mini", epochs=bad)


def test_a_training_table_of_your_own_adds_models(tmp_path):
    table_file = tmp_path / "training.toml"
    table_file.write_text(
        '[models."my-base-2025-01-01"]\nprovider = "openai"\nencoding = "cl100k_base"\n'
        'example_limit = 1000\ntraining = 1.5\nsource = "our contract"\n',
        encoding="utf-8",
    )
    table = TrainingTable.default().extend(table_file)
    file = write(tmp_path / "f.jsonl", distinct(10))
    report = check_file(file, "my-base", table=table)
    assert (report.model, report.encoding, report.example_limit) == (
        "my-base-2025-01-01",
        "cl100k_base",
        1000,
    )
    assert report.training_price == Decimal("1.5")
    assert report.source == "our contract"
    table_file.write_text("[models.x]\nlimit = 3\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown field 'limit'"):
        TrainingTable.from_file(table_file)


def test_an_unknown_format_is_refused(tmp_path):
    file = write(tmp_path / "f.jsonl", distinct(10))
    with pytest.raises(ConfigurationError, match="use 'openai' or 'bedrock'"):
        check_file(file, "gpt-4o-mini", format="anthropic")  # type: ignore[arg-type]


# --- default epochs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (0, 3),
        (1, 25),  # min(25, 100 // 1)
        (4, 25),
        (5, 20),  # the toy file
        (10, 10),
        (12, 8),
        (33, 3),  # 99 < 100: min(25, 100 // 33) = 3
        (34, 3),
        (1000, 3),
        (8333, 3),  # 24999 is not over 25000
        (8334, 2),  # 25002 > 25000: max(1, 25000 // 8334)
        (12_500, 2),
        (12_501, 1),
        (100_000, 1),  # max(1, 0)
    ],
)
def test_default_epochs_follow_the_cookbooks_rule(examples, epochs):
    assert default_epochs(examples) == epochs


def test_default_epochs_match_the_rule_written_out():
    for n in range(1, 30_000, 7):
        rule = 3
        if n * 3 < 100:
            rule = min(25, 100 // n)
        elif n * 3 > 25_000:
            rule = max(1, 25_000 // n)
        assert default_epochs(n) == rule, n


# --- data quality ------------------------------------------------------------------------------


def test_too_few_examples_fail_and_fewer_than_a_hundred_warn(tmp_path):
    nine = check_file(write(tmp_path / "9.jsonl", distinct(9)), "gpt-4o-mini")
    assert not nine.ok
    assert nine.errors == {}
    assert nine.problems == [
        "9 examples: fine-tuning needs at least 10 (gains usually show from 50 to 100)"
    ]
    ten = check_file(write(tmp_path / "10.jsonl", distinct(10)), "gpt-4o-mini")
    assert ten.ok
    assert ten.problems == []
    assert ten.warnings == ["only 10 examples: gains usually show from 50 to 100 upward"]
    hundred = check_file(write(tmp_path / "100.jsonl", distinct(100)), "gpt-4o-mini")
    assert hundred.ok
    assert hundred.warnings == []


def labelled(label: str, i: int) -> dict:
    return chat(f"ticket number {i} {label}", json.dumps({"label": label, "why": str(i)}))


def test_class_balance_is_reported_and_imbalance_warned(tmp_path):
    lines = [labelled("billing", i) for i in range(100)] + [
        labelled("claims", i) for i in range(10)
    ]
    lines.append(chat("not json", "plain words"))
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", label="label")
    assert report.labels == {"billing": 100, "claims": 10, "(no label)": 1}
    assert list(report.labels) == ["billing", "claims", "(no label)"]  # most common first
    imbalance = [w for w in report.warnings if w.startswith("class imbalance")]
    assert len(imbalance) == 1
    assert "'billing' has 100 examples" in imbalance[0]
    assert "'(no label)' 1" in imbalance[0]
    assert any("fewer than 5 examples" in w for w in report.warnings)
    assert report.ok  # warnings do not fail the check
    assert report.to_dict()["labels"]["claims"] == 10


def test_balanced_classes_raise_no_imbalance_warning(tmp_path):
    lines = [labelled(x, i) for x in ("a", "b", "c") for i in range(40)]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", label="label")
    assert report.labels == {"a": 40, "b": 40, "c": 40}
    assert report.warnings == []
    whole = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", label="assistant")
    assert len(whole.labels) == 120  # every whole answer differs


def test_nine_to_one_is_not_yet_imbalance_but_ten_to_one_is(tmp_path):
    def report(common: int) -> Any:
        lines = [labelled("a", i) for i in range(common)] + [labelled("b", i) for i in range(10)]
        return check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", label="label")

    assert not any(w.startswith("class imbalance") for w in report(99).warnings)
    assert any(w.startswith("class imbalance") for w in report(100).warnings)


def test_exact_duplicates_are_warned_with_their_lines(tmp_path):
    lines = distinct(12)
    lines += [lines[2], lines[2], lines[5]]  # lines 13, 14 repeat line 3; 15 repeats 6
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    (warning,) = [w for w in report.warnings if "exact duplicate" in w]
    assert warning.startswith("3 exact duplicate example(s), e.g. lines 3, 13, 14")
    assert not any("near-duplicate" in w for w in report.warnings)
    assert report.ok


def test_near_duplicates_are_warned_and_conflicting_answers_named(tmp_path):
    lines = distinct(12)
    lines.append(chat("What is the  RETURN policy?", "30 days"))  # 13
    lines.append(chat("what is the   return POLICY?", "30 days"))  # 14: same ask, same answer
    lines.append(chat("Cancel my order!", "Done."))  # 15
    lines.append(chat("CANCEL my  order!", "I cannot do that."))  # 16: same ask, other answer
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    (warning,) = [w for w in report.warnings if "near-duplicate" in w]
    assert warning.startswith("2 group(s) of near-duplicate examples")
    assert "e.g. lines 13, 14" in warning
    assert "1 of them answer differently, e.g. lines 15, 16" in warning
    assert not any("exact duplicate" in w for w in report.warnings)


def test_near_duplicates_with_the_same_answer_are_not_called_conflicting(tmp_path):
    lines = [*distinct(12), chat("Hello there", "Hi"), chat("hello  THERE", "Hi")]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    (warning,) = [w for w in report.warnings if "near-duplicate" in w]
    assert "answer differently" not in warning


def test_examples_asking_what_a_held_out_file_asks_are_overlap_errors(tmp_path):
    train = write(tmp_path / "train.jsonl", distinct(15))
    test = write(
        tmp_path / "test.jsonl",
        [
            chat("Question  NUMBER 3", "a different answer"),  # same ask, up to case and spaces
            chat("question number 11", "answer 11", system="another system prompt"),
            chat("something never trained on", "x"),
        ],
    )
    validation = write(tmp_path / "validation.jsonl", [chat("question number 7", "answer 7")])
    report = check_file(train, "gpt-4o-mini", against=[test, validation])
    # line 12 asks "question number 11" under another system prompt: another request
    assert report.errors == {"overlap": [4, 8]}
    assert not report.ok
    clean = write(tmp_path / "clean.jsonl", [chat("unrelated", "x")])
    assert "overlap" not in check_file(train, "gpt-4o-mini", against=[clean]).errors
    with pytest.raises(ConfigurationError, match="cannot read"):
        check_file(train, "gpt-4o-mini", against=[tmp_path / "missing.jsonl"])


def test_overlap_is_found_across_bedrock_files(tmp_path):
    train = write(tmp_path / "train.jsonl", [bedrock(f"q{i}", f"a{i}") for i in range(12)])
    test = write(tmp_path / "test.jsonl", [bedrock("Q5", "other")])
    report = check_file(train, "claude-3-haiku", example_limit=8000, against=[test])
    assert report.errors == {"overlap": [6]}


# --- files that are not fine-tuning files ------------------------------------------------------


def test_a_missing_file_or_a_folder_is_a_promptlib_error(tmp_path):
    with pytest.raises(ConfigurationError, match=r"cannot read .*missing\.jsonl"):
        check_file(tmp_path / "missing.jsonl", "gpt-4o-mini")
    with pytest.raises(ConfigurationError, match="not a regular file"):
        check_file(tmp_path, "gpt-4o-mini")


def test_a_binary_file_is_a_promptlib_error(tmp_path):
    png = tmp_path / "image.jsonl"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" + bytes(range(256)))
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        check_file(png, "gpt-4o-mini")


def test_text_that_is_not_json_lines_is_reported_not_raised(tmp_path):
    nul = tmp_path / "nul.jsonl"
    nul.write_bytes(b"\x00\x01\x02\nabc\n" + b"[" * 100_000 + b"\n" + b"1" * 5000 + b"\n")
    report = check_file(nul, "gpt-4o-mini")
    assert report.errors == {"invalid_json": [1, 2, 3, 4]}
    assert not report.ok


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(check_module, "MAX_FILE_BYTES", 1000)
    file = write(tmp_path / "f.jsonl", distinct(40))
    with pytest.raises(ConfigurationError, match="larger than 1,000 bytes"):
        check_file(file, "gpt-4o-mini")


def test_an_empty_file_is_a_problem_not_a_crash(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    report = check_file(empty, "gpt-4o-mini")
    assert report.examples == 0
    assert not report.ok
    assert report.billable_tokens == 0
    assert report.tokens.max == 0


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            {"messages": [{"role": [], "content": "x"}, ANSWER]},
            id="openai-role-is-a-list",
        ),
        pytest.param(
            {"system": "s", "messages": None},
            id="bedrock-messages-null",
        ),
        pytest.param(
            {"system": "s", "messages": 5},
            id="bedrock-messages-int",
        ),
    ],
)
def test_malformed_values_are_errors_never_raw_exceptions(tmp_path, line):
    file = write(tmp_path / "f.jsonl", [line])
    try:
        report = check_file(file, "gpt-4o-mini")
    except PromptlibError:  # refusing the file is fine; crashing is not
        return
    assert report.errors
    assert not report.ok


def test_a_deeply_nested_answer_with_label_is_no_label_not_a_crash(tmp_path):
    lines = [*distinct(10), chat("deep", "[" * 100_000)]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", label="label")
    assert report.labels["(no label)"] == 11


def test_an_invalid_json_line_is_not_subtracted_twice(tmp_path):
    lines = [*distinct(12), "{not json"]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    assert report.errors == {"invalid_json": [13]}
    assert report.examples == 12  # 11 today; a file of only bad lines reports -N examples


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_line_separator_inside_a_string_does_not_split_the_line(tmp_path, separator):
    lines = [
        json.dumps(chat(f"first{separator}second {i}", "ok"), ensure_ascii=False) for i in range(10)
    ]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    assert report.errors == {}
    assert report.examples == 10


def test_a_boolean_weight_is_a_bad_weight(tmp_path):
    lines = [*distinct(10), {"messages": [USER, {**ANSWER, "weight": True}]}]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini")
    assert report.errors == {"bad_weight": [11]}
