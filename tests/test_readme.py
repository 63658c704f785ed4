"""The README's example is the quickstart script, and its shown output is what it prints."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _block_after(marker: str, lang: str) -> str:
    start = README.index(marker)
    match = re.compile(rf"```{lang}\n(.*?)```", re.DOTALL).search(README, start)
    assert match, f"no ```{lang} block after {marker!r}"
    return match.group(1)


def test_readme_example_is_the_quickstart_script():
    code = _block_after("## Example", "python")
    assert code == (ROOT / "examples" / "quickstart.py").read_text()


def test_readme_output_is_what_the_example_prints():
    shown = _block_after("Output:", "text")
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert run.stdout == shown


def test_readme_test_command_is_the_one_ci_runs():
    test_cmd = _block_after("## Test\n", "bash").strip()
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("section", ["## Templates as files", "## Tokens and cost"])
def test_readme_cli_output_is_what_the_command_prints(section):
    import shlex

    text = README[README.index(section) :]
    text = text[: text.index("\n## ", 1)]
    commands = re.findall(
        r"```bash\n(promptlib [^\n]*)\n```\n\nOutput:\n\n```text\n(.*?)```", text, re.DOTALL
    )
    assert commands
    for command, shown in commands:
        run = subprocess.run(
            [sys.executable, "-m", "promptlib", *shlex.split(command)[1:]],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        assert run.stdout == shown


def test_readme_setup_command_runs_the_main_job():
    setup = _block_after("## Install and run", "bash")
    for step in (
        "pip install -e",
        "examples/quickstart.py",
        "promptlib check",
        "promptlib render",
        "promptlib count",
        "promptlib cost",
    ):
        assert step in setup
