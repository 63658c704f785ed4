"""``promptlib batch``: submit, status, wait, collect, cancel, list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptlib import batch
from promptlib._cli import main

ROOT = Path(__file__).parents[2]
SUBMIT = ["batch", "submit", "insurance-triage", "--inputs", "tickets.jsonl"]
SUBMIT += ["--model", "mock:gpt-4o-mini"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    lines = [
        {"id": f"t{i}", "inputs": {"ticket": f"My bill doubled this month ({i})."}}
        for i in range(6)
    ]
    (tmp_path / "tickets.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return tmp_path


def test_submit_wait_collect_in_one_command(project, capsys):
    code = main(
        [
            "batch",
            "submit",
            "insurance-triage",
            "--inputs",
            "tickets.jsonl",
            "--model",
            "mock:gpt-4o-mini",
            "--wait",
            "-o",
            "out.jsonl",
        ]
    )
    assert code == 0
    results = [json.loads(line) for line in (project / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in results] == [f"t{i}" for i in range(6)]
    assert all(r["ok"] and isinstance(r["output"], dict) for r in results)
    assert all(r["cost"]["known"] for r in results)
    assert "6 answered, 0 failed" in capsys.readouterr().err
    handles = list((project / ".promptlib" / "batches").glob("tickets-*.json"))
    assert len(handles) == 1

    assert main(["batch", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(j["requests"], j["provider"], j["model"]) for j in listed] == [
        (6, "mock", "gpt-4o-mini")
    ]
    assert main(["batch", "status", str(handles[0]), "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert (state["total"], state["finished"], state["ended"]) == (6, 6, True)


def test_submit_without_wait_prints_the_handle_and_how_to_follow_it(project, capsys, monkeypatch):
    from promptlib.testing import MockProvider

    stand_in = MockProvider(name="stand")  # a provider whose batches outlive the command
    monkeypatch.setattr(
        "promptlib._providers.registry.get_provider",
        lambda model, catalog=None: (stand_in, model.split(":", 1)[1]),
    )
    args = ["batch", "submit", "insurance-triage", "--inputs", "tickets.jsonl"]
    code = main([*args, "--model", "stand:gpt-4o-mini", "--handle", "job.json", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["handle"] == "job.json"
    assert out["requests"] == 6
    handle = batch.load("job.json", provider=stand_in)
    assert [r.custom_id for r in handle.requests] == [f"t{i}" for i in range(6)]
    assert all(b.state == "created" for b in handle.batches)


def test_mock_batches_need_wait_on_the_command_line(project, capsys):
    code = main([*SUBMIT, "--handle", "job.json"])
    assert code == 2
    assert "give --wait" in capsys.readouterr().err
    assert not (project / "job.json").exists()


def test_lines_may_name_their_template_and_be_bare_inputs(project, capsys):
    (project / "mixed.jsonl").write_text(
        json.dumps({"template": "insurance-triage", "ticket": "Where is my refund?"})
        + "\n"
        + json.dumps({"template": "insurance-triage@1.0.0", "ticket": "Cancel my policy."})
        + "\n"
    )
    code = main(
        ["batch", "submit", "--inputs", "mixed.jsonl", "--model", "mock:gpt-4o-mini", "--wait"]
    )
    assert code == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(results) == 2
    assert all(r["ok"] for r in results)
    assert all(r["id"].startswith("p") for r in results)  # derived from the prompts


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"ticket": "a"}\n', "no template"),
        ("not json\n", "tickets.jsonl:1: not JSON"),
        ("[1, 2]\n", "each line must be a JSON object"),
        ("\n", "has no prompts"),
        ('{"id": "a", "ticket": "x"}\n{"id": "a", "ticket": "y"}\n', "id 'a' is used twice"),
        ('{"id": "a", "ticket": "x"}\n{"ticket": "y"}\n', "give every line an id, or none"),
        ('{"id": "a b", "ticket": "x"}\n', "1-64 letters, digits"),
    ],
)
def test_bad_input_files_are_usage_errors_naming_the_line(project, capsys, content, message):
    (project / "tickets.jsonl").write_text(content)
    ref = [] if message == "no template" else ["insurance-triage"]
    args = ["batch", "submit", *ref, "--inputs", "tickets.jsonl", "--model", "mock:gpt-4o-mini"]
    args.append("--wait")
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (project / ".promptlib" / "batches").exists() or not list(
        (project / ".promptlib" / "batches").iterdir()
    )


def test_failed_lines_exit_3_and_are_described(project, capsys, monkeypatch):
    from promptlib.testing import Failure, MockProvider

    mock = MockProvider(Failure("server_error"))
    monkeypatch.setattr(
        "promptlib._providers.registry.get_provider",
        lambda model, catalog=None: (mock, model.split(":", 1)[1]),
    )
    code = main(
        [
            "batch",
            "submit",
            "insurance-triage",
            "--inputs",
            "tickets.jsonl",
            "--model",
            "mock:gpt-4o-mini",
            "--wait",
            "--max-resubmits",
            "1",
        ]
    )
    assert code == 3
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["error"]["kind"] for r in results} == {"errored"}
    assert all(r["error"]["retryable"] and r["attempts"] == 2 for r in results)


def test_a_missing_or_foreign_handle_is_a_usage_error(project, capsys):
    assert main(["batch", "status", "nope.json"]) == 2
    assert "cannot be read" in capsys.readouterr().err
    (project / "x.json").write_text('{"format": "something else"}')
    assert main(["batch", "collect", "x.json"]) == 2
    assert "written by promptlib.batch" in capsys.readouterr().err


def test_list_of_an_empty_folder(project, capsys):
    assert main(["batch", "list"]) == 0
    assert "no batch jobs in" in capsys.readouterr().out


def test_cancel_then_collect_reports_cancelled_lines(project, capsys, monkeypatch):
    from promptlib.testing import MockProvider

    mock = MockProvider()
    mock.batch_emulator.polls = 5  # still running at the first look
    monkeypatch.setattr(
        "promptlib._providers.registry.get_provider",
        lambda model, catalog=None: (mock, model.split(":", 1)[1]),
    )
    # A mock's batches live in the process that made it: submit here, follow from the CLI.
    from promptlib import Registry

    triage = Registry(project / "templates")
    prompts = {f"t{i}": triage.render("insurance-triage", ticket=f"bill {i}") for i in range(6)}
    batch.submit(prompts, mock, "gpt-4o-mini", path="job.json")
    assert main(["batch", "status", "job.json"]) == 0
    assert "0/6 finished" in capsys.readouterr().out
    assert main(["batch", "cancel", "job.json", "--json"]) == 0
    capsys.readouterr()
    assert main(["batch", "wait", "job.json", "--poll", "0"]) == 0
    assert "(ended)" in capsys.readouterr().out
    assert main(["batch", "collect", "job.json", "-o", "out.jsonl"]) == 3
    results = [json.loads(line) for line in (project / "out.jsonl").read_text().splitlines()]
    assert {r["error"]["kind"] for r in results} == {"canceled"}
    assert mock.batch_emulator.creates == 1
