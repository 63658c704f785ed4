"""Each class of defect a new-user review of the CLI found, pinned."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest

from promptlib._cli import main
from promptlib.settings import _read

ROOT = Path(__file__).parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project whose output model lives in its own, uninstalled package."""
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "schemas.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Label(BaseModel):\n    label: str\n"
    )
    folder = tmp_path / "prompts" / "labeller"
    folder.mkdir(parents=True)
    (folder / "1.0.0.prompt").write_text(
        '---\nname: labeller\nversion: "1.0.0"\ninputs:\n  text: {type: string}\n'
        "output: {model: shop.schemas:Label}\n---\n[user]\nLabel {{ text }}\n"
    )
    monkeypatch.chdir(tmp_path)

    def forget() -> None:
        _read.cache_clear()
        for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
            del sys.modules[name]

    forget()
    yield tmp_path
    forget()


def settings(project: Path, body: str) -> None:
    (project / "pyproject.toml").write_text(f'[tool.promptlib]\ntemplates = "prompts"\n{body}')
    _read.cache_clear()


RUN = ["run", "labeller@1.0.0", "--model", "mock:gpt-4o-mini", "--var", "text=x", "--no-stream"]


@pytest.mark.parametrize("allowed", ['["shop"]', '["shop.schemas"]', '["shop.schemas:Label"]'])
def test_output_models_in_every_documented_form_load_from_the_uninstalled_project(
    project, capsys, allowed
):
    assert "shop" not in sys.modules
    settings(project, f"output_models = {allowed}\n")
    assert main(RUN) == 0
    assert '{"label":' in capsys.readouterr().out
    assert main(["check"]) in (0, 1)  # unreleased is a finding, not a load error
    assert "could not be loaded" not in capsys.readouterr().out


def test_a_missing_allow_list_names_the_setting(project, capsys):
    settings(project, "")
    assert main(RUN) == 2
    err = capsys.readouterr().err
    assert 'output_models = ["shop"] under [tool.promptlib] in pyproject.toml' in err


def test_an_unknown_setting_is_one_warning_line_with_a_suggestion(project, capsys):
    settings(project, 'output_models = ["shop"]\noutptu_models = ["x"]\n')
    assert main(["list"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("promptlib: warning: ")
    assert "did you mean 'output_models'?" in err[0]


def test_library_logs_stay_out_of_a_commands_output_without_debug(monkeypatch, capsys, tmp_path):
    from promptlib._cli import commands

    def noisy(args):
        logging.getLogger("promptlib.providers").warning("giving up after 3 attempts")
        return 0

    monkeypatch.setitem(commands.COMMANDS, "list", noisy)
    assert main(["list"]) == 0
    assert capsys.readouterr().err == ""
    assert logging.getLogger("promptlib").propagate  # restored for the caller


def test_interrupting_a_command_exits_130_without_a_traceback(monkeypatch, capsys):
    from promptlib._cli import commands

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(commands.COMMANDS, "list", interrupted)
    assert main(["list"]) == 130
    assert capsys.readouterr().err == "promptlib: interrupted\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--dir", "/etc/passwd"], "is not an empty folder"),
        (["demo", "--dir", "/proc/promptlib-demo"], "cannot make the demo project in"),
        (
            ["cost", "sentiment@production", "--model", "gpt-4o-mini", "--output-tokens", "-5",
             "--var", "review=x"],
            "output_tokens is a whole number of zero or more (--output-tokens",
        ),
        (["eval", "power", "--baseline", "0.5", "--cases", "-3"], "--cases must be a positive"),
        (
            ["run", "sentiment@production", "--model", "anthropic:claude-haiku-4-5", "--base-url",
             "http://127.0.0.1:9/v1", "--var", "review=x"],
            "--base-url is for OpenAI-compatible servers",
        ),
    ],
)  # fmt: skip
def test_bad_values_are_usage_errors_naming_the_option(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("promptlib: error: ")
    assert message in err


def test_version_works_after_the_command(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["list", "--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.startswith("promptlib ")


def test_a_streamed_chain_of_thought_reply_labels_its_parsed_output(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["run", "ticket-priority@1.1.0", "--model", "mock:gpt-4o-mini", "--var", "ticket=x"]
    assert main([*args, "--stream"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("output: {") for line in lines)


def test_eval_hints_carry_the_store_given(tmp_path, capsys, monkeypatch):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "elsewhere.sqlite"
    assert (
        main(["eval", "run", "evals/insurance-triage.toml", "--no-progress", "--store", str(store)])
        == 0
    )
    hint = capsys.readouterr().out.splitlines()[-1]
    assert hint.endswith(f"--store {store}")


def test_messages_read_well(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    assert main(["render", "sentimnt"]) == 2
    assert "; did you mean 'sentiment'? (templates:" in capsys.readouterr().err
    shutil.copytree(ROOT / "templates" / "sentiment", tmp_path / "templates" / "sentiment")
    monkeypatch.chdir(tmp_path)
    assert main(["lock"]) == 0
    assert main(["check"]) == 0
    assert "ok: 1 template version, all released and unchanged" in capsys.readouterr().out


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_bash_completion_follows_a_templates_option_on_the_line(tmp_path, capsys):
    from tests.cli.test_cli_edges import bash_completer

    script, complete = bash_completer(tmp_path)
    script.write_text(capsys.readouterr().out)
    offered = complete("promptlib", "--templates", str(ROOT / "templates"), "render", "senti")
    assert "sentiment@production" in offered
