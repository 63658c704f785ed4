"""Global options anywhere, completion scripts, streaming ``run``, ``demo``, and settings."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from promptlib._cli import main
from promptlib.settings import UnknownSettingWarning, project_settings

ROOT = Path(__file__).parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_global_options_work_after_the_command(project, capsys):
    (project / "templates").rename(project / "prompts")
    assert main(["list", "--templates", "prompts"]) == 0
    assert "sentiment" in capsys.readouterr().out
    assert main(["--templates", "prompts", "list"]) == 0
    assert main(["eval", "list", "--templates", "prompts", "--store", "x.sqlite"]) == 2
    capsys.readouterr()
    assert main(["render", "nope", "--templates", "prompts"]) == 2
    assert "promptlib: error: " in capsys.readouterr().err
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        # --debug after the command: the traceback shows, the exit code stays
        assert main(["render", "nope", "--templates", "prompts", "--debug"]) == 2
        assert "Traceback" in capsys.readouterr().err
    finally:  # --debug configured logging to this test's captured stderr
        root.handlers[:], root.level = handlers, level


def test_list_refs_gives_every_reference(project, capsys):
    assert main(["list", "--refs"]) == 0
    refs = capsys.readouterr().out.splitlines()
    assert {"sentiment", "sentiment@production", "sentiment@1.0.0"} <= set(refs)


def bash_completer(folder: Path):
    """``complete(*words)``: what the generated bash completion offers for the last word,
    with ``promptlib`` on PATH as this interpreter's."""
    assert main(["completion", "bash"]) == 0
    script = folder / "promptlib.bash"
    launcher = folder / "bin"
    launcher.mkdir()
    (launcher / "promptlib").write_text(f'#!/bin/sh\nexec {sys.executable} -m promptlib "$@"\n')
    (launcher / "promptlib").chmod(0o755)

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        code = (
            f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
            f'COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; '
            f"_shtab_promptlib promptlib {words[-1]} {words[-2]}; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        env = {"PATH": f"{launcher}:/usr/bin:/bin", "HOME": str(folder)}
        run = subprocess.run(
            ["bash", "-c", code], capture_output=True, text=True, env=env, cwd=folder
        )
        return run.stdout.split()

    return script, complete


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_the_bash_completion_offers_commands_and_template_references(project, capsys):
    script, complete = bash_completer(project)
    script.write_text(capsys.readouterr().out)

    assert "render" in complete("promptlib", "ren")
    assert set(complete("promptlib", "render", "senti")) == {
        "sentiment",
        "sentiment@production",
        "sentiment@1.0.0",
    }
    assert "--stream" in complete("promptlib", "run", "--str")


def test_zsh_and_tcsh_scripts_are_generated(capsys):
    for shell in ("zsh", "tcsh"):
        assert main(["completion", shell]) == 0
        assert "promptlib" in capsys.readouterr().out


def test_run_streams_when_asked_and_prints_the_summary(project, capsys):
    args = ["run", "sentiment@production", "--model", "mock:gpt-4o-mini", "--var", "review=ok"]
    assert main([*args, "--stream"]) == 0
    streamed = capsys.readouterr().out
    assert main([*args, "--no-stream"]) == 0
    whole = capsys.readouterr().out
    assert streamed.splitlines()[0] == whole.splitlines()[0] == "mock reply"
    assert "sentiment@1.0.0 on mock:gpt-4o-mini" in streamed.splitlines()[-1]
    assert main([*args, "--stream", "--json"]) == 2


def test_demo_runs_the_whole_workflow_offline(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    for step in ("1. render", "2. count", "3. send", "4. evaluate", "5. compare"):
        assert f"== {step}" in out
    assert (tmp_path / "demo" / "insurance-triage.html").is_file()
    assert "no detectable difference" in out
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 2
    assert "is not an empty folder" in capsys.readouterr().err


def test_settings_are_read_once_and_unknown_keys_warned(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.promptlib]\ntemplates = "p"\noutput_models = ["app.schemas"]\ntemplate = "x"\n'
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    with pytest.warns(
        UnknownSettingWarning, match="unknown key 'template'; did you mean 'templates'"
    ):
        settings = project_settings(sub)
    assert settings.templates == tmp_path / "p"
    assert settings.output_models == ("app.schemas",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read, and warned about, once per process
        assert project_settings(sub) == settings
        assert project_settings(tmp_path).output_models == ("app.schemas",)


def test_an_unknown_key_is_warned_about_at_its_line_of_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n\n[tool.promptlib]\ntemplats = "p"\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        project_settings(tmp_path)
    assert [(w.filename, w.lineno) for w in caught] == [(str(pyproject), 5)]


def test_a_bad_output_models_setting_is_a_clear_error(tmp_path):
    from promptlib._errors import UsageError

    (tmp_path / "pyproject.toml").write_text('[tool.promptlib]\noutput_models = "app"\n')
    with pytest.raises(
        UsageError, match=r'must be a list of module names, e.g. output_models = \["app.schemas"\]'
    ):
        project_settings(tmp_path)


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["render", "x", "--bogus"], "usage: promptlib render "),
        (["eval", "list", "--bogus"], "usage: promptlib eval list "),
        (["--bogus", "list"], "usage: promptlib [-h]"),
    ],
)
def test_an_unknown_argument_shows_the_usage_of_the_command_it_was_given_to(argv, usage, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert "promptlib: error: unrecognized arguments: --bogus" in err
