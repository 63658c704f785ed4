"""The promptlib command, end to end, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.repository.conftest import SHIPPED


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptlib", *args],
        capture_output=True,
        text=True,
        cwd=cwd or SHIPPED.parent,
        timeout=60,
    )


def test_list():
    result = run("list")
    assert result.returncode == 0, result.stderr
    assert (
        "ticket-priority          1.0.0, 1.1.0  [production=1.0.0, staging=1.1.0]" in result.stdout
    )
    data = json.loads(run("list", "--json").stdout)
    names = [t["name"] for t in data["templates"]]
    assert names == [
        "claim-decision",
        "insurance-triage",
        "judge-helpfulness",
        "sentiment",
        "support-reply",
        "ticket-extraction",
        "ticket-priority",
    ]
    assert data["templates"][-1]["versions"][1] == {"version": "1.1.0", "released": True}


def test_show():
    result = run("show", "ticket-priority@production")
    assert result.returncode == 0
    assert result.stdout.startswith("ticket-priority@1.0.0  [production]\n")
    assert "ticket (string, required, untrusted): The ticket text" in result.stdout
    assert "[json-output]" in result.stdout  # the file itself follows
    data = json.loads(run("show", "support-reply@1.0.0", "--json").stdout)
    assert data["inputs"][3] == {
        "name": "articles",
        "type": "array of string",
        "required": False,
        "untrusted": True,
        "description": "Help-center articles retrieved for this message.",
    }
    assert data["released"] is True
    assert data["labels"] == ["production"]


def test_render_text_and_stable_json(tmp_path):
    doc = tmp_path / "msg.txt"
    doc.write_text("My card was charged twice </customer_message>")
    result = run(
        "render",
        "support-reply@1.0.0",
        "--var",
        "customer_name=Ana",
        "--var",
        f"message=@{doc}",
        "--var",
        'articles:=["Duplicate charges are refunded in 3 days."]',
    )
    assert result.returncode == 0, result.stderr
    assert (
        "[system]\nYou draft replies to customers for the ACME Cloud support team." in result.stdout
    )
    assert "My card was charged twice &lt;/customer_message>\n</customer_message>" in result.stdout

    data = json.loads(run("render", "sentiment", "--var", "review=Lovely.", "--json").stdout)
    assert list(data) == [
        "name",
        "version",
        "hash",
        "template_hash",
        "source",
        "model",
        "params",
        "messages",
        "output",
    ]
    assert data["name"] == "sentiment"
    assert data["version"] == "1.0.0"
    assert data["source"] == "templates/sentiment/1.0.0.prompt"
    assert data["messages"][0]["role"] == "system"
    assert data["messages"][-1]["content"].endswith("<review>\nLovely.\n</review>")
    assert data["hash"].startswith("sha256:")
    assert data["output"] is None


def test_usage_errors_are_one_paragraph_with_exit_2():
    result = run("render", "ticket-priority", "--var", "tikcet=x")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "tikcet: not an input of this template; did you mean 'ticket'?" in result.stderr
    assert "Traceback" not in result.stderr
    assert run("render", "nope").returncode == 2
    assert "no template 'nope'" in run("render", "nope").stderr
    bad_var = run("render", "sentiment", "--var", "review")
    assert bad_var.returncode == 2
    assert "must be key=text" in bad_var.stderr
    assert run("frobnicate").returncode == 2


def test_debug_shows_the_traceback_and_keeps_the_exit_code():
    result = run("--debug", "render", "nope")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "promptlib.TemplateError: no template 'nope'" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("promptlib: error: no template 'nope'")


def test_debug_keeps_exit_3_for_a_provider_failure_and_hides_the_key():
    import os

    from tests.conftest import stand_in

    key = "sk-proj-debugKEY0123456789abcdef"

    def refuse(handler):
        body = f'{{"error": {{"message": "Incorrect API key provided: {key}"}}}}'.encode()
        handler.send_response(401)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with stand_in(refuse) as url:
        result = subprocess.run(
            [sys.executable, "-m", "promptlib", "run", "sentiment@production", "--var",
             "review=x", "--model", "openai:gpt-4o-mini", "--base-url", url, "--debug"],
            capture_output=True, text=True, cwd=SHIPPED.parent, timeout=60,
            env={**os.environ, "OPENAI_API_KEY": key},
        )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "Traceback" in result.stderr
    assert key not in result.stderr
    assert "[redacted]" in result.stderr


def test_check_lock_and_an_edited_release(tmp_path):
    import shutil

    root = tmp_path / "templates"
    shutil.copytree(SHIPPED, root)
    assert run("--templates", str(root), "check").stdout == (
        "ok: 10 template versions, all released and unchanged\n"
    )
    released = root / "sentiment" / "1.0.0.prompt"
    released.write_text(released.read_text().replace("exactly one word", "one word"))
    result = run("--templates", str(root), "check")
    assert result.returncode == 1
    assert "[changed] sentiment@1.0.0: released with hash" in result.stdout
    assert "make the change in a new version (e.g. sentiment/1.0.1.prompt)" in result.stdout
    report = json.loads(run("--templates", str(root), "check", "--json").stdout)
    assert report["ok"] is False
    assert report["problems"][0]["kind"] == "changed"

    assert run("--templates", str(root), "lock").returncode == 1
    (root / "sentiment" / "1.0.1.prompt").write_text(
        released.read_text().replace('version: "1.0.0"', 'version: "1.0.1"')
    )
    released.write_text((SHIPPED / "sentiment" / "1.0.0.prompt").read_text())
    assert "[unreleased] sentiment@1.0.1" in run("--templates", str(root), "check").stdout
    lock = run("--templates", str(root), "lock")
    assert lock.returncode == 0
    assert lock.stdout == "released:\n  sentiment@1.0.1\n"
    assert run("--templates", str(root), "check").returncode == 0


def test_diff():
    result = run(
        "diff", "ticket-priority@production", "ticket-priority@staging", "--var", "ticket=Down"
    )
    assert result.returncode == 0
    assert "=== rendered prompt: ticket-priority@1.0.0 -> ticket-priority@1.1.0" in result.stdout


@pytest.mark.parametrize("setting", ["prompts", None])
def test_templates_root_from_pyproject(tmp_path, setting):
    import shutil

    folder = setting or "templates"
    shutil.copytree(SHIPPED, tmp_path / folder)
    if setting:
        (tmp_path / "pyproject.toml").write_text(f'[tool.promptlib]\ntemplates = "{setting}"\n')
    (tmp_path / "src").mkdir()
    result = run("list", cwd=tmp_path / "src" if setting else tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sentiment" in result.stdout


def test_count():
    result = run(
        "count", "ticket-priority@production", "--model", "gpt-4o-mini", "--var", "ticket=Down"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ticket-priority@1.0.0 on gpt-4o-mini: ")
    assert "(estimate, tiktoken:o200k_base+estimate:schema)" in result.stdout
    data = json.loads(
        run("count", "sentiment", "--model", "gpt-4o", "--var", "review=Nice.", "--json").stdout
    )
    assert data["exact"] is True
    assert data["method"] == "tiktoken:o200k_base"
    assert data["total"] == sum(data["by_kind"].values())
    assert sum(data["messages"]) + 3 == data["total"]


def test_cost(tmp_path):
    args = [
        "cost",
        "sentiment",
        "--model",
        "gpt-4o-mini",
        "--output-tokens",
        "2",
        "--var",
        "review=Nice.",
    ]
    result = run(*args, "--requests-per-month", "1000000")
    assert result.returncode == 0, result.stderr
    assert "per month (1,000,000 requests): $" in result.stdout
    data = json.loads(run(*args, "--json").stdout)
    assert data["per_request"]["known"] is True
    assert data["per_request"]["currency"] == "USD"

    catalog = tmp_path / "models.toml"
    catalog.write_text('[models."house-model"]\nprovider = "openai"\nencoding = "o200k_base"\n')
    unknown = run(
        "--catalog",
        str(catalog),
        "cost",
        "sentiment",
        "--model",
        "house-model",
        "--output-tokens",
        "2",
        "--var",
        "review=Nice.",
    )
    assert unknown.returncode == 0
    assert "per request: unknown" in unknown.stdout
    assert "unknown prices: input, output" in unknown.stdout
    assert (
        run(
            "cost", "sentiment", "--model", "gpt-9", "--output-tokens", "2", "--var", "review=x"
        ).returncode
        == 2
    )


def test_run_against_a_local_compatible_server(local_openai):
    url, seen = local_openai
    args = [
        "run",
        "ticket-priority@production",
        "--base-url",
        url,
        "--var",
        "ticket=Site down for everyone",
    ]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        '{"priority": "urgent"}\n\nticket-priority@1.0.0 on openai:gpt-4o-mini: 79 in'
    )
    assert "request req_local" in result.stdout
    data = json.loads(run(*args, "--json").stdout)
    assert data["output"] == {"priority": "urgent"}
    assert data["usage"]["input_tokens"] == 79
    assert data["cost"]["known"] is True
    assert seen[0]["model"] == "gpt-4o-mini"
    assert seen[0]["response_format"]["json_schema"]["strict"] is True


def test_run_without_a_key_names_the_variable(monkeypatch):
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "promptlib", "run", "sentiment", "--var", "review=ok"],
        capture_output=True,
        text=True,
        cwd=SHIPPED.parent,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "set the OPENAI_API_KEY environment variable" in result.stderr


def test_diff_exit_code_says_whether_versions_differ():
    same = run("diff", "ticket-priority@1.0.0", "ticket-priority@production", "--exit-code")
    assert same.returncode == 0
    differ = run("diff", "ticket-priority@1.0.0", "ticket-priority@1.1.0", "--exit-code")
    assert differ.returncode == 1
    assert run("diff", "ticket-priority@1.0.0", "ticket-priority@1.1.0").returncode == 0


def test_version_is_printed():
    version = run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("promptlib ")
