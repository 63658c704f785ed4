"""Scorers: each built-in on pydantic, dict and text outputs; errors become scores; the
LLM judge through MockProvider."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from promptlib import (
    ChainOfThought,
    ConfigurationError,
    Context,
    JsonOutput,
    Registry,
    System,
    Template,
    Untrusted,
    User,
)
from promptlib._providers.completion import Completion
from promptlib._tokens.cost import Usage
from promptlib.evals import (
    Case,
    Score,
    Scorer,
    contains,
    exact,
    function,
    json_schema_valid,
    judge,
    numeric,
    one_of,
    regex,
    run_scorer,
    set_f1,
)
from promptlib.testing import MockProvider


class Question(BaseModel):
    question: str


class Entity(BaseModel):
    name: str
    kind: str


class Answer(BaseModel):
    label: str
    confidence: float
    entities: list[Entity] = []
    details: dict[str, Any] = {}


TEXT = Template([System("Answer briefly."), User("{{ question }}")], name="qa", inputs=Question)
TYPED = Template(
    [System("Classify."), User("{{ question }}"), JsonOutput()],
    name="classify",
    inputs=Question,
    output=Answer,
)
RAW = Template(
    [System("Classify."), User("{{ question }}"), JsonOutput()],
    name="raw",
    inputs=Question,
    output={
        "type": "object",
        "properties": {"label": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["label"],
    },
)


def reply(template: Template[Any, Any], answer: Any) -> Completion[Any]:
    return MockProvider([answer]).complete(template.render(question="q?"))


def text(answer: str) -> Completion[Any]:
    return reply(TEXT, answer)


def typed(**fields: Any) -> Completion[Any]:
    return reply(TYPED, {"label": "billing", "confidence": 0.9, **fields})


def raw(**fields: Any) -> Completion[Any]:
    return reply(RAW, fields)


def score(scorer: Scorer, completion: Completion[Any], expected: Any = None, **case: Any) -> Score:
    return asyncio.run(
        run_scorer(scorer, Case("c1", {"question": "q?"}, expected, **case), completion)
    )


CANNED = text("canned")


# --- run_scorer -------------------------------------------------------------------------------


class Raising:
    name = "raising"

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        raise RuntimeError("boom")


class Returning:
    def __init__(self, result: Any) -> None:
        self.name = "returning"
        self.result = result

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        return self.result  # type: ignore[no-any-return]


def test_an_exception_becomes_an_error_score() -> None:
    result = score(Raising(), text("x"))
    assert result == Score("raising", None, error="RuntimeError: boom")


@pytest.mark.parametrize(
    ("result", "needle"),
    [
        (
            Score("returning", 1.5),
            "TypeError|ValueError: scorer 'returning' returned the value 1.5",
        ),
        (Score("returning", -0.1), "outside \\[0, 1\\]"),
        (Score("returning", float("nan")), "outside \\[0, 1\\]"),
        (Score("returning", "yes"), "returned the value 'yes'; a value is a number"),  # type: ignore[arg-type]
        (Score("returning", True), "a value is a number"),
        (Score("returning", None), "no value and no error"),
        (Score("returning", 1.0, passed="yes"), "passed='yes'"),  # type: ignore[arg-type]
        (Score("returning", 1.0, reason=3), "a reason is text"),  # type: ignore[arg-type]
        ("yes", "returned a str \\('yes'\\), not a Score"),
        (0.5, "not a Score"),
    ],
)
def test_an_invalid_result_becomes_an_error_naming_the_scorer(result: Any, needle: str) -> None:
    outcome = score(Returning(result), text("x"))
    assert outcome.value is None
    assert outcome.name == "returning"
    assert outcome.error is not None
    assert re.search(needle, outcome.error), outcome.error


@settings(max_examples=100, deadline=None)
@given(
    result=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=5),
        st.tuples(st.floats(), st.one_of(st.none(), st.text(max_size=3), st.integers())),
        st.builds(
            Score,
            name=st.text(max_size=3),
            value=st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=2)),
            passed=st.one_of(st.none(), st.booleans(), st.integers()),
            reason=st.one_of(st.none(), st.text(max_size=3), st.integers()),
        ),
    ),
    raises=st.booleans(),
)
def test_run_scorer_never_raises_and_returns_a_checked_score(result: Any, raises: bool) -> None:
    def fn(case: Case, completion: Completion[Any]) -> Any:
        if raises:
            raise ValueError(result)
        return result

    outcome = score(function(fn), CANNED)
    assert isinstance(outcome, Score)
    assert outcome.name == "fn"
    if outcome.value is None:
        assert outcome.error
    else:
        assert isinstance(outcome.value, float)
        assert 0 <= outcome.value <= 1
        assert outcome.passed is None or isinstance(outcome.passed, bool)


def test_valid_results_pass_through_and_integers_become_floats() -> None:
    assert score(Returning(Score("returning", 1)), text("x")).value == 1.0
    kept = Score("returning", None, error="ValueError: mine")
    assert score(Returning(kept), text("x")) == kept


def test_a_sync_score_method_and_a_nameless_scorer_are_handled() -> None:
    class Sync:
        def score(self, case: Case, completion: Completion[Any]) -> Score:
            return Score("sync", 0.5)

    result = score(Sync(), text("x"))  # type: ignore[arg-type]
    assert result.value == 0.5
    assert score(object(), text("x")).error.startswith("AttributeError")  # type: ignore[arg-type, union-attr]


def test_the_built_ins_satisfy_the_protocol() -> None:
    for scorer in (exact(), contains("x"), regex("x"), numeric(), one_of(), set_f1()):
        assert isinstance(scorer, Scorer)


# --- exact --------------------------------------------------------------------------------------


def test_exact_on_text_ignores_surrounding_whitespace() -> None:
    assert score(exact(), text("Billing\n"), "Billing") == Score("exact", 1.0, passed=True)
    miss = score(exact(), text("Claims"), "Billing")
    assert (miss.value, miss.passed) == (0.0, False)
    assert miss.reason == "expected 'Billing', got 'Claims'"


def test_exact_on_a_pydantic_output_compares_its_json() -> None:
    expected = {"label": "billing", "confidence": 0.9, "entities": [], "details": {}}
    assert score(exact(), typed(), expected).passed is True
    assert score(exact(), typed(), {**expected, "confidence": 0.8}).passed is False


def test_exact_on_a_field_against_a_label_or_an_object() -> None:
    scorer = exact("label")
    assert scorer.name == "exact:label"
    assert score(scorer, typed(), "billing").passed is True
    assert score(scorer, typed(), {"label": "billing", "other": 1}).passed is True
    assert score(scorer, raw(label="billing"), "billing").passed is True
    assert score(scorer, raw(label="claims"), "billing").passed is False


def test_exact_on_a_dotted_path_and_list_items() -> None:
    completion = typed(details={"a": {"b": [10, 20]}}, entities=[{"name": "Ann", "kind": "p"}])
    assert score(exact("details.a.b.1"), completion, 20).passed is True
    assert score(exact("entities.0.name"), completion, "Ann").passed is True


def test_exact_distinguishes_booleans_from_numbers() -> None:
    completion = typed(details={"flag": True, "n": 1})
    assert score(exact("details.flag"), completion, 1).passed is False
    assert score(exact("details.n"), completion, 1.0).passed is True
    assert score(exact("details.flag"), completion, True).passed is True


def test_a_missing_output_field_fails_with_a_reason() -> None:
    result = score(exact("nope"), typed(), "x")
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason == "the output has no field 'nope'"


def test_a_case_without_expected_is_an_error_score() -> None:
    result = score(exact(), text("x"), source="cases.jsonl:4")
    assert result.value is None
    assert result.error is not None
    assert result.error.startswith("DatasetError: cases.jsonl:4: case 'c1' has no 'expected'")


# --- contains and regex -------------------------------------------------------------------------


def test_contains_on_text_and_fields() -> None:
    assert score(contains("REFUND"), text("We will refund you."), None).passed is True
    assert score(contains("REFUND", case_sensitive=True), text("refund")).passed is False
    assert score(contains("bill", field="label"), typed()).passed is True
    assert contains("x", field="label").name == "contains:label"
    assert contains("x", name="mentions-x").name == "mentions-x"
    miss = score(contains("zzz"), text("abc"))
    assert miss.reason == "'zzz' not found in 'abc'"
    assert score(contains("0.9"), typed()).passed is True  # the reply's text


def test_contains_needs_text() -> None:
    with pytest.raises(ConfigurationError):
        contains("")


def test_regex_is_compiled_once_and_bounded() -> None:
    scorer = regex(r"\bref(und|und)ed?\b")
    assert score(scorer, text("It was refunded.")).passed is True
    assert score(scorer, text("No.")).passed is False
    assert score(regex(r"^bill", field="label"), typed()).passed is True
    assert regex("x", field="label").name == "regex:label"
    with pytest.raises(ConfigurationError, match="over the limit of 1,000"):
        regex("a" * 1001)
    with pytest.raises(ConfigurationError, match="is invalid"):
        regex("(unclosed")
    with pytest.raises(ConfigurationError, match="as text"):
        regex(42)  # type: ignore[arg-type]


# --- json_schema_valid --------------------------------------------------------------------------


def test_json_schema_valid_uses_the_prompt_schema_by_default() -> None:
    assert score(json_schema_valid(), typed()) == Score("json_schema", 1.0, passed=True)
    assert score(json_schema_valid(), raw(label="x", count=2)).passed is True


def test_json_schema_valid_with_a_given_schema_on_text() -> None:
    schema = {"type": "object", "required": ["answer"]}
    assert score(json_schema_valid(schema), text('{"answer": 1}')).passed is True
    missing = score(json_schema_valid(schema), text('{"other": 1}'))
    assert missing.passed is False
    assert "'answer' is a required property" in (missing.reason or "")
    not_json = score(json_schema_valid(schema), text("hello"))
    assert not_json.passed is False
    assert "not JSON" in (not_json.reason or "")
    too_strict = {"type": "object", "properties": {"confidence": {"maximum": 0.5}}}
    assert score(json_schema_valid(too_strict), typed()).passed is False


def test_json_schema_valid_without_any_schema_is_an_error_score() -> None:
    result = score(json_schema_valid(), text("{}"))
    assert (result.error or "").startswith("ConfigurationError: json_schema_valid()")


def test_an_invalid_schema_is_refused_when_the_scorer_is_made() -> None:
    with pytest.raises(ConfigurationError, match="not a valid JSON schema"):
        json_schema_valid({"type": "nonsense"})


# --- numeric ------------------------------------------------------------------------------------


def test_numeric_with_tolerances() -> None:
    completion = typed(confidence=0.85)
    assert score(numeric("confidence"), completion, 0.85).passed is True
    assert score(numeric("confidence", abs_tol=0.1), completion, 0.9).passed is True
    assert score(numeric("confidence"), completion, 0.9).reason == "expected 0.9, got 0.85"
    assert score(numeric("confidence", rel_tol=0.1), completion, {"confidence": 0.9}).passed
    assert score(numeric(), text(" 42 "), 42).passed is True
    assert score(numeric(), text("42"), "42.0").passed is True


def test_numeric_on_non_numbers() -> None:
    assert score(numeric(), text("many"), 3).reason == "the output 'many' is not a number"
    assert score(numeric("details.flag"), typed(details={"flag": True}), 1).passed is False
    bad = score(numeric(), text("3"), "three")
    assert (bad.error or "").startswith("DatasetError: case 'c1': expected 'three' is not a number")
    with pytest.raises(ConfigurationError, match="abs_tol"):
        numeric(abs_tol=-1)
    with pytest.raises(ConfigurationError, match="rel_tol"):
        numeric(rel_tol=float("nan"))


# --- one_of ---------------------------------------------------------------------------------------


def test_one_of_with_values_or_the_expected_list() -> None:
    assert score(one_of(["claims", "billing"], field="label"), typed()).passed is True
    assert score(one_of(field="label"), typed(), ["billing", "claims"]).passed is True
    miss = score(one_of(field="label"), typed(), ["claims"])
    assert miss.passed is False
    assert miss.reason == "'billing' is not one of [\"claims\"]"
    assert score(one_of(), text(" yes "), ["yes", "y"]).passed is True


def test_one_of_without_a_list_is_an_error() -> None:
    assert "needs expected to be a list" in (score(one_of(), text("x"), "x").error or "")
    bad: Any
    for bad in ("abc", [], 3):
        with pytest.raises(ConfigurationError):
            one_of(bad)


# --- set_f1 ---------------------------------------------------------------------------------------


def test_set_f1_on_lists_of_objects_by_key() -> None:
    completion = typed(
        entities=[
            {"name": "Ann", "kind": "person"},
            {"name": "ACME", "kind": "org"},
            {"name": "Paris", "kind": "place"},
        ]
    )
    result = score(set_f1("entities", key="name"), completion, ["ann", "ACME", "Bob", "Eve"])
    assert result.name == "set_f1:entities"
    assert result.passed is None
    assert result.value == pytest.approx(2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    assert (result.reason or "").startswith("P=0.67 R=0.50 F1=0.57")
    assert "missing" in (result.reason or "")
    assert "extra" in (result.reason or "")
    expected_objects = {"entities": [{"name": "Ann"}, {"name": "ACME"}, {"name": "Paris"}]}
    assert score(set_f1("entities", key="name"), completion, expected_objects).value == 1.0


def test_set_f1_on_plain_lists_and_edge_cases() -> None:
    completion = raw(label="x", tags=["a", "b"])
    assert score(set_f1("tags"), completion, ["b", "a", "a"]).value == 1.0
    assert score(set_f1("tags", case_sensitive=True), completion, ["A", "b"]).value == 0.5
    assert score(set_f1("missing"), completion, []).value == 0.0
    assert score(set_f1("label"), completion, ["x"]).reason == "the output 'x' is not a list"
    empty = raw(label="x", tags=[])
    assert score(set_f1("tags"), empty, []).value == 1.0
    assert score(set_f1("tags"), empty, ["a"]).value == 0.0
    assert score(set_f1("tags"), completion, []).value == 0.0
    assert "is not a list" in (score(set_f1("tags"), completion, "a").error or "")


# --- function -------------------------------------------------------------------------------------


def test_function_by_case_and_completion_or_by_output_and_expected() -> None:
    def long_enough(case: Case, completion: Completion[Any]) -> bool:
        return len(completion.text) > 3

    def matches(output: Any, expected: Any) -> tuple[float, str]:
        return (1.0 if output == expected else 0.25), "compared"

    assert score(function(long_enough), text("long answer")) == Score(
        "long_enough", 1.0, passed=True
    )
    assert score(function(matches), text("a"), "b") == Score("matches", 0.25, reason="compared")
    assert function(lambda case, completion: 1.0).name == "function"
    assert function(matches, name="m").name == "m"


def test_function_accepts_async_functions_and_scores() -> None:
    async def judge_it(case: Case, completion: Completion[Any]) -> Score:
        return Score("ignored", 0.75, reason="async")

    assert score(function(judge_it), text("x")) == Score("judge_it", 0.75, reason="async")


@pytest.mark.parametrize(
    ("result", "needle"),
    [
        (1.5, "ValueError: scorer 'f' returned the value 1.5, outside"),
        ("yes", "TypeError: scorer 'f' returned a str ('yes')"),
        ((True, 3), "the reason 3"),
        (("x", "why"), "the value is a bool or a number"),
        (None, "returned a NoneType"),
    ],
)
def test_function_results_that_are_not_scores_are_errors(result: Any, needle: str) -> None:
    outcome = score(function(lambda case, completion: result, name="f"), text("x"))
    assert outcome.value is None
    assert needle in (outcome.error or "")


def test_function_needs_a_two_argument_callable() -> None:
    with pytest.raises(ConfigurationError, match="two arguments"):
        function(lambda output: True)
    with pytest.raises(ConfigurationError, match="callable"):
        function("not callable")  # type: ignore[arg-type]


# --- the LLM judge --------------------------------------------------------------------------------


class JudgeInputs(BaseModel):
    inputs: dict[str, Any]
    expected: str | None = None
    text: Untrusted


class OutputAsText(BaseModel):
    output: str


class Verdict(BaseModel):
    score: int = Field(ge=1, le=5)
    reason: str


JUDGE = Template(
    [
        System("Rate the answer from 1 to 5."),
        User("Question: {{ inputs.question }}\nReference: {{ expected }}"),
        Context("text"),
        JsonOutput(),
    ],
    name="judge-helpfulness",
    version="1.0.0",
    inputs=JudgeInputs,
    output=Verdict,
)


def test_the_judge_normalises_a_1_to_5_scale_and_counts_its_tokens() -> None:
    provider = MockProvider([{"score": 4, "reason": "helpful, a little long"}])
    scorer = judge(JUDGE, provider)
    result = score(scorer, text("You can pay by card."), "Card payments are accepted.")
    assert result.error is None
    assert result.name == "judge"
    assert result.value == 0.75
    assert result.passed is None
    assert result.reason == "helpful, a little long"
    assert result.usage is not None
    assert result.usage.input_tokens > 0
    call = provider.calls[0]
    assert result.usage == Usage(call.input_tokens, call.output_tokens)
    assert isinstance(result.cost, Decimal)
    assert result.cost > 0
    sent = provider.calls[0].prompt
    assert sent.meta.template == "judge-helpfulness"
    assert sent.meta.inputs["text"] == "You can pay by card."
    assert sent.meta.inputs["inputs"] == {"question": "q?"}
    assert sent.meta.inputs["expected"] == "Card payments are accepted."


def test_the_judge_renders_only_declared_inputs_and_json_for_text_fields() -> None:
    judge_template = Template(
        [User("Is this output fine? {{ output }}"), JsonOutput()],
        name="fine",
        inputs=OutputAsText,
        output=Verdict,
    )
    provider = MockProvider([{"score": 1, "reason": "no"}])
    result = score(judge(judge_template, provider, model="gpt-4o"), typed())
    assert result.value == 0.0
    assert provider.calls[0].model == "gpt-4o"
    assert set(provider.calls[0].inputs) == {"output"}
    assert '"label": "billing"' in provider.calls[0].inputs["output"]


class PassFail(BaseModel):
    correct: bool
    why: str = ""


class Unit(BaseModel):
    score: float
    ok: bool


class Stars(BaseModel):
    score: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


class Unscaled(BaseModel):
    score: int


def judge_of(output: type[BaseModel]) -> Template[Any, Any]:
    return Template(
        [Context("text"), JsonOutput()],
        name="j",
        inputs=JudgeInputs,
        output=output,
        unused_inputs="ignore",
    )


def test_the_judge_with_a_bool_a_unit_score_and_an_enum_scale() -> None:
    verdict = score(
        judge(
            judge_of(PassFail),
            MockProvider([{"correct": False, "why": "wrong"}]),
            score_field="correct",
            reason_field="why",
        ),
        text("x"),
    )
    assert (verdict.value, verdict.passed, verdict.reason) == (0.0, False, "wrong")
    alone = judge(
        judge_of(PassFail),
        MockProvider([{"correct": True}]),
        score_field=None,
        pass_field="correct",
        name="correct",
    )
    assert score(alone, text("x")).value == 1.0
    unit = judge(judge_of(Unit), MockProvider([{"score": 0.4, "ok": True}]), pass_field="ok")
    result = score(unit, text("x"))
    assert (result.value, result.passed, result.reason) == (0.4, True, None)
    stars = score(judge(judge_of(Stars), MockProvider([{"score": 10}])), text("x"))
    assert stars.value == 1.0


def test_a_judge_score_outside_an_undeclared_scale_is_an_error_score() -> None:
    result = score(judge(judge_of(Unscaled), MockProvider([{"score": 4}])), text("x"))
    assert result.value is None
    assert "declare the scale" in (result.error or "")


def test_a_judge_that_fails_to_answer_is_an_error_score() -> None:
    from promptlib.testing import Failure

    result = score(judge(JUDGE, MockProvider([Failure("authentication")])), text("x"))
    assert result.value is None
    assert (result.error or "").startswith("AuthenticationError")


def test_judge_configuration_is_checked_when_made() -> None:
    class Other(BaseModel):
        question: str

    provider = MockProvider()
    with pytest.raises(ConfigurationError, match="requires the input 'question'"):
        judge(
            Template(
                [User("{{ question }}"), JsonOutput()], name="x", inputs=Other, output=Verdict
            ),
            provider,
        )
    with pytest.raises(ConfigurationError, match="no output schema"):
        judge(
            Template([Context("text")], name="x", inputs=JudgeInputs, unused_inputs="ignore"),
            provider,
        )
    with pytest.raises(ConfigurationError, match="no field 'grade'"):
        judge(JUDGE, provider, score_field="grade")
    with pytest.raises(ConfigurationError, match="score_field= or pass_field="):
        judge(JUDGE, provider, score_field=None)
    with pytest.raises(ConfigurationError, match=r"promptlib\.Template"):
        judge("judge@1.0.0", provider)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="Provider"):
        judge(JUDGE, object())  # type: ignore[arg-type]


JUDGE_FILE = """\
---
name: judge-helpfulness
version: "1.0.0"
description: Rate how helpful an answer is, from 1 to 5.
model: gpt-4o-mini
params:
  temperature: 0
inputs:
  inputs:
    type: string
    untrusted: true
    description: The case's inputs, as JSON.
  expected:
    type: string
    untrusted: true
    default: "(none)"
  text:
    type: string
    untrusted: true
output:
  title: Verdict
  type: object
  properties:
    score: {type: integer, minimum: 1, maximum: 5}
    reason: {type: string}
  required: [score, reason]
  additionalProperties: false
---
[system]
You grade how helpful an answer is to a customer's request, from 1 (useless) to 5 (fully
answers it, accurately and briefly). Give the score and one sentence of reason.

[json-output]

[context inputs]
The request:

[context expected]
A reference answer:

[context text]
The answer to grade:
"""


def test_a_judge_loaded_from_a_template_file(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "judge-helpfulness"
    folder.mkdir(parents=True)
    (folder / "1.0.0.prompt").write_text(JUDGE_FILE, encoding="utf-8")
    template = Registry(tmp_path / "templates").get("judge-helpfulness@1.0.0")
    provider = MockProvider([{"score": 5, "reason": "complete"}])
    result = score(judge(template, provider), typed())
    assert (result.value, result.reason, result.error) == (1.0, "complete", None)
    sent = provider.calls[0].inputs
    assert sent["inputs"] == '{\n  "question": "q?"\n}'
    assert sent["expected"] == "(none)"  # no expected value: the template's default
    assert sent["text"] == typed().text
    assert result.usage is not None
    assert result.cost is not None


def test_text_scorers_read_the_final_answer_of_a_chain_of_thought() -> None:
    thinking = Template(
        [System("Classify."), User("{{ question }}"), ChainOfThought()],
        name="cot",
        inputs=Question,
    )
    completion = reply(thinking, "<thinking>Claims? No.</thinking><answer>Billing</answer>")
    assert score(contains("claims"), completion).passed is False
    assert score(regex("^Billing$"), completion).passed is True
    assert score(exact(), completion, "Billing").passed is True
    schema = {"type": "string"}
    assert score(json_schema_valid(schema), completion).reason is not None  # not JSON


def test_a_judge_answering_unusably_keeps_the_tokens_it_spent() -> None:
    from promptlib.testing import Failure

    provider = MockProvider([Failure("invalid_output")])
    result = score(judge(JUDGE, provider), text("x"))
    assert result.value is None
    assert (result.error or "").startswith("OutputValidationError")
    assert result.usage is not None
    assert result.usage.input_tokens == sum(call.input_tokens for call in provider.calls)
    assert len(provider.calls) == 3  # the first reply and two repairs


@pytest.mark.parametrize("pattern", ["(a+)+$", r"^(\w+\s?)*$", "(a|a)*b"])
def test_regex_scorers_refuse_patterns_that_backtrack_for_ever(pattern: str) -> None:
    with pytest.raises(ConfigurationError, match="backtrack"):
        regex(pattern)
