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


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    """Every ```python block runs (```py ones need a key or a network: shown, not run)."""
    for name in ("templates", "evals", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"^```python\n(.*?)^```", README, re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 2
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


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


def test_readme_setup_command_installs_and_runs_the_demo():
    setup = _block_after("## Try it", "bash")
    assert setup.strip().endswith('pip install -e ".[dev]" && promptlib demo')


def test_readme_demo_output_is_what_the_demo_prints(tmp_path):
    shown = _block_after("## Try it", "text")
    run = subprocess.run(
        [sys.executable, "-m", "promptlib", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in shown.splitlines():
        if line != "...":
            assert line in run.stdout.splitlines()


def test_readme_three_cli_commands_run(tmp_path):
    import shlex
    import shutil

    block = _block_after("## The command line in three commands", "bash")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    for line in block.strip().splitlines() * 2:  # and again, as a reader trying it twice would
        for command in line.split(" && "):
            subprocess.run(
                [sys.executable, "-m", "promptlib", *shlex.split(command)[1:]],
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp_path,
            )
