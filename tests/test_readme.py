"""The README's example is the quickstart script, and its shown output is what it prints."""

import re
import subprocess
import sys
from pathlib import Path

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
    test_cmd = _block_after("## Test", "bash").strip()
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_readme_cli_output_is_what_the_command_prints():
    section = README[README.index("## Templates as files") :]
    command = re.search(r"```bash\n(promptlib render .*)\n```", section)
    assert command
    shown = re.search(r"Output:\n\n```text\n(.*?)```", section, re.DOTALL)
    assert shown
    import shlex

    args = shlex.split(command.group(1))[1:]
    run = subprocess.run(
        [sys.executable, "-m", "promptlib", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert run.stdout == shown.group(1)
