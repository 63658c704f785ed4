"""The pytest plugin, exercised with pytester in throwaway projects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SHIPPED = Path(__file__).parents[2] / "templates"

OFFLINE_TESTS = """
import pytest
from promptlib import OpenAIProvider, RequestsBlockedError, Registry

def test_uses_the_mock(mock_provider, prompt_registry):
    prompt = prompt_registry.render("sentiment@production", review="Lovely.")
    mock_provider.replies = ["positive"]
    assert mock_provider.complete(prompt).output == "positive"
    mock_provider.assert_called_with("sentiment", review="Lovely.")

def test_a_real_request_is_blocked(prompt_registry):
    prompt = prompt_registry.render("sentiment@production", review="Lovely.")
    with pytest.raises(RequestsBlockedError, match="a test tried to send a real request to openai"):
        # a refused loopback port: even if the guard failed, nothing leaves the machine
        OpenAIProvider(api_key="sk-real", base_url="http://127.0.0.1:9/v1").complete(prompt)

@pytest.mark.allow_provider_requests
def test_opted_in(prompt_registry):
    import openai
    prompt = prompt_registry.render("sentiment@production", review="Lovely.")
    with pytest.raises(Exception) as info:
        OpenAIProvider(api_key="sk-real", base_url="http://127.0.0.1:9/v1").complete(prompt)
    assert not isinstance(info.value, RequestsBlockedError)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(SHIPPED, pytester.path / "templates")
    pytester.makepyprojecttoml('[tool.promptlib]\ntemplates = "templates"\n')
    return pytester


def test_fixtures_work_and_real_requests_are_blocked(project: pytest.Pytester) -> None:
    project.makepyfile(test_app=OFFLINE_TESTS)
    from promptlib import RetryPolicy  # noqa: F401 - the plugin is installed with promptlib

    result = project.runpytest("-p", "no:cacheprovider", "test_app.py")
    result.assert_outcomes(passed=3)


def test_the_environment_variable_allows_requests(project: pytest.Pytester, monkeypatch) -> None:
    project.makepyfile(
        test_env="""
import pytest
from promptlib import OpenAIProvider, RequestsBlockedError, RetryPolicy

def test_sent(prompt_registry):
    prompt = prompt_registry.render("sentiment@production", review="Lovely.")
    provider = OpenAIProvider(base_url="http://127.0.0.1:9/v1", retry=RetryPolicy(attempts=1))
    with pytest.raises(Exception) as info:  # sent, and refused by the closed loopback port
        provider.complete(prompt)
    assert not isinstance(info.value, RequestsBlockedError)
"""
    )
    project.runpytest("-p", "no:cacheprovider", "test_env.py").assert_outcomes(failed=1)
    monkeypatch.setenv("PROMPTLIB_ALLOW_REQUESTS", "1")
    project.runpytest("-p", "no:cacheprovider", "test_env.py").assert_outcomes(passed=1)


SCOPED_FIXTURES = """
import openai
import pytest
from promptlib import OpenAIProvider, RequestsBlockedError, Template, User

URL = "http://127.0.0.1:9/v1"  # refused: even if the guard failed, nothing leaves the machine

def ask():
    client = openai.OpenAI(api_key="sk-x", base_url=URL, max_retries=0)
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

def outcome(send):
    try:
        send()
    except RequestsBlockedError:
        return "blocked"
    except Exception as exc:
        return type(exc).__name__

@pytest.fixture(scope="session")
def from_the_session():
    return outcome(ask)

@pytest.fixture(scope="module")
def from_the_module():
    provider = OpenAIProvider(api_key="sk-x", base_url=URL)
    return outcome(lambda: provider.complete(Template([User("hi")], name="hi", model="m").render()))

@pytest.mark.allow_provider_requests  # allows the test's requests, not the shared fixtures'
def test_shared_fixtures_are_guarded(from_the_session, from_the_module):
    assert (from_the_session, from_the_module) == ("blocked", "blocked")
    assert outcome(ask) != "blocked"  # sent, and refused by the closed port
"""


def test_session_and_module_fixtures_are_guarded(project: pytest.Pytester, monkeypatch) -> None:
    project.makepyfile(test_scoped=SCOPED_FIXTURES)
    project.runpytest("-p", "no:cacheprovider", "test_scoped.py").assert_outcomes(passed=1)
    monkeypatch.setenv("PROMPTLIB_ALLOW_REQUESTS", "1")
    project.runpytest("-p", "no:cacheprovider", "test_scoped.py").assert_outcomes(failed=1)


def test_snapshots_fail_on_change_and_update_with_the_flag(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_snap="""
def test_prompt(prompt_registry, prompt_snapshot):
    prompt = prompt_registry.render("sentiment@production", review="Lovely.")
    prompt_snapshot(prompt)
"""
    )
    missing = project.runpytest("-p", "no:cacheprovider", "test_snap.py")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no prompt snapshot at*--update-prompt-snapshots*"])

    project.runpytest(
        "-p", "no:cacheprovider", "test_snap.py", "--update-prompt-snapshots"
    ).assert_outcomes(passed=1)
    stored = project.path / "__snapshots__" / "test_snap" / "test_prompt.txt"
    assert stored.read_text().startswith(
        "# template: sentiment@1.0.0\n# model: gpt-4o-mini\n"
        '# params: {"max_tokens": 5, "temperature": 0}\n\n[system]\n'
    )
    project.runpytest("-p", "no:cacheprovider", "test_snap.py").assert_outcomes(passed=1)

    release = project.path / "templates" / "sentiment" / "1.0.0.prompt"
    release.write_text(
        release.read_text().replace("Answer with exactly one word", "Answer with one word")
    )
    changed = project.runpytest("-p", "no:cacheprovider", "test_snap.py")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*_ test_prompt _*",
            "prompt snapshot __snapshots__/test_snap/test_prompt.txt differs from the rendered*",
            "--- stored",
            "+++ rendered now",
            "*-You label the sentiment*exactly one word*",
            "*+You label the sentiment*with one word*",
            "If the change is intended, run pytest --update-prompt-snapshots*",
        ]
    )
    assert "def assert_snapshot" not in changed.stdout.str()  # no internals before the diff


def test_parametrized_ids_get_a_snapshot_each(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_ids="""
import pytest

@pytest.mark.parametrize("review", ["a b", "a/b", "a:b"])
def test_prompt(prompt_registry, prompt_snapshot, review):
    prompt_snapshot(prompt_registry.render("sentiment@production", review=review))
"""
    )
    project.runpytest(
        "-p", "no:cacheprovider", "test_ids.py", "--update-prompt-snapshots"
    ).assert_outcomes(passed=3)
    assert len(list((project.path / "__snapshots__" / "test_ids").iterdir())) == 3
    project.runpytest("-p", "no:cacheprovider", "test_ids.py").assert_outcomes(passed=3)


def test_classes_and_several_snapshots_in_a_test_get_their_own_files(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_many="""
import pytest

def render(registry, review):
    return registry.render("sentiment@production", review=review)

class TestGood:
    def test_snap(self, prompt_registry, prompt_snapshot):
        prompt_snapshot(render(prompt_registry, "Good."))

class TestBad:
    def test_snap(self, prompt_registry, prompt_snapshot):
        prompt_snapshot(render(prompt_registry, "Bad."))

def test_two(prompt_registry, prompt_snapshot):
    prompt_snapshot(render(prompt_registry, "A"))
    prompt_snapshot(render(prompt_registry, "B"))

class TestOuter:
    class TestInner:
        @pytest.mark.parametrize("review", ["a::b"])
        def test_snap(self, prompt_registry, prompt_snapshot, review):
            prompt_snapshot(render(prompt_registry, review))

def test_same_name_twice(prompt_registry, prompt_snapshot):
    prompt_snapshot(render(prompt_registry, "A"), "x")
    prompt_snapshot(render(prompt_registry, "B"), "x")
"""
    )
    update = project.runpytest(
        "-p", "no:cacheprovider", "test_many.py", "--update-prompt-snapshots"
    )
    update.assert_outcomes(passed=4, failed=1)
    update.stdout.fnmatch_lines(["*two snapshots in test_same_name_twice would share*"])
    stored = sorted(
        str(p.relative_to(project.path / "__snapshots__" / "test_many"))
        for p in (project.path / "__snapshots__" / "test_many").rglob("*.txt")
    )
    assert len(stored) == 6  # the failing test wrote its first one
    assert any(s.startswith("TestOuter-") and "/TestInner-" in s for s in stored)
    assert "test_two.txt" in stored
    assert "test_two-2.txt" in stored
    assert sum(s.endswith("/test_snap.txt") for s in stored) == 2
    result = project.runpytest("-p", "no:cacheprovider", "test_many.py", "-k", "not same_name")
    result.assert_outcomes(passed=4)


def test_template_test_cases_are_collected(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "templates", "-v")
    result.assert_outcomes(passed=11)
    bad = project.path / "templates" / "sentiment" / "1.0.0.prompt"
    bad.write_text(bad.read_text().replace("expect: negative", "expect: positive"))
    failing = project.runpytest("-p", "no:cacheprovider", "templates/sentiment")
    failing.assert_outcomes(failed=1)
    failing.stdout.fnmatch_lines(
        ["*sentiment@1.0.0*a negative review*", "*parsed into 'negative', not 'positive'*"]
    )
