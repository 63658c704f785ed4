"""Snapshots show everything that changes a request, and never share a file."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from promptlib import ChainOfThought, JsonOutput, System, Template, User
from promptlib.testing.snapshots import assert_snapshot, snapshot_filename, snapshot_text


class Verdict(BaseModel):
    label: str


class Review(BaseModel):
    review: str


class ScoredVerdict(BaseModel):
    label: str
    score: float


def render(output=Verdict, params=None, blocks=(), **options):
    return Template(
        [System("Judge the review."), *blocks, User("{{ review }}")],
        name="judge",
        inputs=Review,
        version="1.0.0",
        output=output,
        model="gpt-4o-mini",
        params=params or {"temperature": 0},
        **options,
    ).render(review="Great.")


def test_a_schema_change_without_a_json_block_changes_the_snapshot():
    before, after = snapshot_text(render()), snapshot_text(render(output=ScoredVerdict))
    assert before != after
    assert '"score"' in after
    assert "# output schema: ScoredVerdict\n{\n" in after


def test_a_params_change_changes_the_snapshot():
    text = snapshot_text(render(params={"temperature": 0.7}))
    assert '# params: {"temperature": 0.7}' in text
    assert text != snapshot_text(render())


def test_the_reasoning_format_is_shown():
    text = snapshot_text(render(blocks=[ChainOfThought(), JsonOutput()]))
    assert '# reasoning: {"answer_prefix"' in text


@pytest.mark.parametrize("a", ["a b", "a/b", "a:b", "a_b", "a?b"])
@pytest.mark.parametrize("b", ["a b", "a/b", "a:b", "a_b", "a?b"])
def test_file_names_are_injective_and_safe(a, b):
    names = {snapshot_filename(f"test_x[{a}]"), snapshot_filename(f"test_x[{b}]")}
    assert len(names) == (1 if a == b else 2)
    assert all("/" not in n and ":" not in n and " " not in n for n in names)


def test_plain_names_stay_readable():
    assert snapshot_filename("test_x[1-gpt-4o]") == "test_x[1-gpt-4o].txt"
    assert snapshot_filename("test_x", "request") == "test_x-request.txt"
    assert snapshot_filename("test_x", "a/b").startswith("test_x-a_b-")


def test_a_failure_shows_the_file_the_diff_and_the_fix(tmp_path):
    path = tmp_path / "judge.txt"
    assert_snapshot(render(), path, update=True)
    with pytest.raises(AssertionError) as info:
        assert_snapshot(render(params={"temperature": 1}), path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"prompt snapshot {path}") or "judge.txt" in lines[0]
    assert lines[1:3] == ["--- stored", "+++ rendered now"]
    assert '-# params: {"temperature": 0}' in lines
    assert '+# params: {"temperature": 1}' in lines
    assert "--update-prompt-snapshots" in lines[-1]


@pytest.mark.parametrize(
    ("a", "b"), [("test_x[Down]", "test_x[down]"), ("test_X", "test_x"), ("test_x[é]", "test_x[e]")]
)
def test_names_stay_distinct_on_file_systems_that_ignore_case(a, b):
    first, second = snapshot_filename(a), snapshot_filename(b)
    assert first.lower() != second.lower()
    assert first.isascii()
    assert second.isascii()


def test_long_ids_get_short_distinct_names():
    first = snapshot_filename("test_x[" + "x" * 300 + "]")
    second = snapshot_filename("test_x[" + "x" * 299 + "y]")
    assert first != second
    assert len(first.encode()) < 140


KEY = "sk-proj-SNAPSHOTKEY1234567890abcdef"


def keyed(ticket: str):
    return Template([User("{{ review }}")], name="t", inputs=Review, version="1.0.0").render(
        review=ticket
    )


def test_a_request_with_credentials_is_stored_masked(tmp_path):
    from promptlib._providers.openai import OpenAIProvider

    prompt = keyed(f"my key {KEY}")
    request = OpenAIProvider(api_key=KEY, base_url=f"http://u:{KEY}@127.0.0.1:9/v1")
    extra = {
        "Authorization": "Bearer " + KEY,
        "X-Api-Key": "plainsecretvalue123",
        "x-auth-token": "tok-abcdefgh",
        "Cookie": "session=abc",
    }
    sent = request.build_request(prompt, "gpt-4o-mini")
    body = {**sent, "max_tokens": 5, "extra_headers": extra, "url": "http://u:pw9@h/"}
    path = tmp_path / "s.txt"
    assert_snapshot(prompt, path, update=True, request=body)
    text = path.read_text()
    for secret in (KEY, "plainsecretvalue123", "tok-abcdefgh", "session=abc", "pw9"):
        assert secret not in text
    assert "sk-***" in text
    assert '"max_tokens": 5' in text  # ordinary fields stay


@pytest.mark.parametrize("variable", ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"])
def test_the_values_of_provider_key_variables_are_masked(monkeypatch, variable):
    value = "AIzaNotShapedLikeAKey0123"
    monkeypatch.setenv(variable, value)
    text = snapshot_text(keyed(f"echo {value} and {value.encode().hex()}"))
    assert value not in text
    assert value.encode().hex() not in text


def test_a_short_placeholder_key_masks_nothing(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    assert "Fix the box." in snapshot_text(keyed("Fix the box."))
