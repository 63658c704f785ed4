"""``promptlib eval``: run, resume, list, show, export, and the experiment file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptlib import ConfigurationError
from promptlib._cli import main
from promptlib.evals._config import load_experiment
from promptlib.evals._store import Store

ROOT = Path(__file__).parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the shipped templates and evaluation, as a user's repo has them."""
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def eval_json(capsys, *argv):
    code = main(["eval", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_run_list_show_and_export_the_shipped_evaluation(project, capsys):
    code, result = eval_json(
        capsys, "run", "evals/insurance-triage.toml", "--json", "--no-progress"
    )
    assert code == 0
    assert (result["status"], result["total"], result["done"], result["errors"]) == (
        "finished",
        116,
        116,
        0,
    )
    assert Path(result["store"]) == Path(".promptlib/evals.sqlite")
    run_id = result["run_id"]

    code, runs = eval_json(capsys, "list", "--json")
    assert [r["run_id"] for r in runs] == [run_id]

    code, shown = eval_json(capsys, "show", run_id[:20], "--json", "--cases")
    variants = {v["variant"]: v for v in shown["variants"]}
    assert set(variants) == {"insurance-triage@1.0.0", "insurance-triage@1.1.0"}
    assert all(v["results"] == 58 and v["errors"] == 0 for v in variants.values())
    assert all(0 <= v["scores"]["exact:label"] <= 1 for v in variants.values())
    assert len(shown["results"]) == 116
    assert shown["manifest"]["dataset"]["cases"] == 58

    assert main(["eval", "show", run_id]) == 0
    table = capsys.readouterr().out
    assert "insurance-triage@1.1.0" in table
    assert "exact:label" in table

    assert main(["eval", "export", run_id, "-o", "out.jsonl"]) == 0
    lines = Path("out.jsonl").read_text().splitlines()
    assert len(lines) == 117  # the run, then one line per result


def test_resume_after_losing_results_sends_only_those(project, capsys):
    code, result = eval_json(
        capsys, "run", "evals/insurance-triage.toml", "--json", "--no-progress"
    )
    with Store(".promptlib/evals.sqlite") as db:
        db._db.execute("DELETE FROM results WHERE case_id IN ('ticket-002', 'ticket-003')")
    code, resumed = eval_json(capsys, "resume", result["run_id"], "--json", "--no-progress")
    assert code == 0
    assert (resumed["sent"], resumed["done"]) == (4, 116)


def test_a_budget_that_stops_the_run_exits_1(project, capsys):
    code, result = eval_json(
        capsys,
        "run",
        "evals/insurance-triage.toml",
        "--budget",
        "0.001",
        "--json",
        "--no-progress",
    )
    assert code == 1
    assert result["status"] == "over budget"
    assert 0 < result["done"] < 116
    assert float(result["spent"]) <= 0.001


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('dataset = "datasets/insurance_tickets.jsonl"\n', "variants = ... is required"),
        ('variants = ["x@1.0.0"]\n', "dataset = ... is required"),
        (
            'dataset = "datasets/insurance_tickets.jsonl"\nvariants = ["insurance-triage@1.0.0"]\n'
            "concurency = 3\n",
            "unknown key 'concurency'; did you mean 'concurrency'",
        ),
        (
            'dataset = "datasets/insurance_tickets.jsonl"\nvariants = ["insurance-triage@1.0.0"]\n'
            '[[scorers]]\ntype = "exactly"\n',
            "unknown type 'exactly'",
        ),
        (
            'dataset = "datasets/insurance_tickets.jsonl"\nvariants = ["insurance-triage@1.0.0"]\n'
            '[[scorers]]\ntype = "exact"\nfeild = "label"\n',
            r"scorer 1 \(exact\).*feild",
        ),
        (
            'dataset = "datasets/insurance_tickets.jsonl"\nvariants = ["insurance-triage@1.0.0"]\n'
            'budget = "lots"\n',
            "budget must be a number",
        ),
        (
            'dataset = "datasets/insurance_tickets.jsonl"\nvariants = ["insurance-triage@1.0.0"]\n'
            '[providers.local]\nbase_url = "localhost:8000"\n',
            "needs http:// or https://",
        ),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_mistakes_in_an_experiment_file_name_the_file_and_the_key(project, text, message):
    path = project / "evals" / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        load_experiment(path)


def test_unknown_variants_and_missing_runs_are_usage_errors(project, capsys):
    path = project / "evals" / "unknown.toml"
    path.write_text(
        'dataset = "datasets/insurance_tickets.jsonl"\nvariants = ["insurance-triage@9.9.9"]\n'
    )
    assert main(["eval", "run", str(path)]) == 2
    assert "insurance-triage" in capsys.readouterr().err
    assert main(["eval", "show", "no-such-run"]) == 2
    assert "no results store at .promptlib/evals.sqlite" in capsys.readouterr().err
    assert not Path(".promptlib").exists()  # reading never makes a store


def test_an_llm_judge_from_the_shipped_template_scores_and_is_paid_for(project, capsys):
    path = project / "evals" / "judged.toml"
    path.write_text(
        'dataset = "datasets/insurance_tickets.jsonl"\n'
        'variants = ["insurance-triage@1.1.0"]\nmodels = ["mock:gpt-4o-mini"]\n'
        'tags = []\n[[scorers]]\ntype = "judge"\ntemplate = "judge-helpfulness@1.0.0"\n'
        'model = "mock:gpt-4o-mini"\n'
    )
    code, result = eval_json(capsys, "run", str(path), "--json", "--no-progress")
    assert code == 0
    with Store(".promptlib/evals.sqlite") as db:
        rows = list(db.results(result["run_id"]))
    judged = rows[0].scores["judge"]
    assert judged["error"] is None
    assert 0 <= judged["value"] <= 1
    assert judged["usage"][0] > 0  # the judge's own tokens
    assert float(judged["cost"]) > 0
    assert float(result["spent"]) > sum(float(r.cost) for r in rows)  # the judge's spend too
