from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlib import OutputParseError, OutputSpec, ReasoningSpec
from promptlib._output import parse_json_answer
from tests.conftest import Triage

TRIAGE_SPEC = OutputSpec(name="Triage", schema=Triage.model_json_schema())


def test_tags_answer_is_extracted_and_reasoning_kept_apart():
    reply = "<thinking>It crashes, so high.</thinking>\n<answer>\nhigh\n</answer>"
    result = ReasoningSpec().split(reply)
    assert result.answer == "high"
    assert result.reasoning == "It crashes, so high."


def test_last_answer_wins_over_one_quoted_in_reasoning():
    reply = "<thinking>Maybe <answer>low</answer>? No.</thinking><answer>high</answer>"
    assert ReasoningSpec().split(reply).answer == "high"


def test_unclosed_answer_takes_the_rest():
    assert ReasoningSpec().split("<thinking>x</thinking><answer> 42").answer == "42"


def test_missing_answer_is_a_clear_error_that_keeps_the_text():
    with pytest.raises(OutputParseError, match=r"no final answer.*<answer>") as info:
        ReasoningSpec().split("I think it is high.")
    assert info.value.text == "I think it is high."


def test_prefix_style():
    spec = ReasoningSpec(style="prefix", answer_prefix="Final answer:")
    result = spec.split("First 2+2=4.\nThen double it.\nFinal answer: 8\n")
    assert result.answer == "8"
    assert result.reasoning == "First 2+2=4.\nThen double it."
    with pytest.raises(OutputParseError, match="'Final answer:'"):
        spec.split("8")


# Real chain-of-thought solutions written by models for GSM8K problems: the final answer
# follows "A:". Copied from openai/grade-school-math (MIT); see tests/data/SOURCES.md.
GSM8K = Path(__file__).parent / "data" / "gsm8k_model_solutions.jsonl"


def test_prefix_style_on_real_model_solutions():
    spec = ReasoningSpec(style="prefix", answer_prefix="A:")
    records = [json.loads(line) for line in GSM8K.read_text().splitlines() if line.strip()]
    assert len(records) >= 5
    for record in records:
        result = spec.split(record["solution"])
        assert result.answer == record["expected_answer"]
        assert "A:" not in result.answer
        assert result.reasoning


def test_json_answer_validates_into_model_and_tolerates_fences():
    text = '```json\n{"priority": "high", "category": "bug", "summary": "s"}\n```'
    assert parse_json_answer(text, TRIAGE_SPEC, Triage) == Triage(
        priority="high", category="bug", summary="s"
    )


def test_json_answer_schema_failure_names_fields():
    with pytest.raises(OutputParseError, match="priority: Field required") as info:
        parse_json_answer('{"category": "x", "summary": "s"}', TRIAGE_SPEC, Triage)
    assert "category" in info.value.text


def test_raw_schema_answer_is_a_dict_and_must_be_an_object():
    spec = OutputSpec(name="raw", schema={"type": "object"})
    assert parse_json_answer('{"a": 1}', spec, None) == {"a": 1}
    with pytest.raises(OutputParseError, match="must be a JSON object, got list"):
        parse_json_answer("[1]", spec, None)
    with pytest.raises(OutputParseError, match=r"not valid JSON.*line 1"):
        parse_json_answer("{nope", spec, None)
