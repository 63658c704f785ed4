"""The fine-tuning workflow under the defects an independent review found, by class: model
names, percentiles, formats, near duplicates, the head-to-head's arms and failures,
unknown prices, the catalog, lost work, tracebacks, unchecked numbers, tools, CSV data."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from promptlib._cli import main
from promptlib._errors import ConfigurationError
from promptlib.evals import Case, Dataset
from promptlib.finetune import (
    TrainingCost,
    TrainingTable,
    check_file,
    decide,
    export_training_data,
    roi,
    serving_from_run,
)
from promptlib.finetune._jobs import FineTuneJob, register_model
from promptlib.testing import Failure
from tests.finetune.test_check import TOY, chat, distinct, write
from tests.finetune.test_roi_decide import LONG, SHORT, answers, reviews, run_offline

TRAINING = TrainingCost(100_000, 3, Decimal(3), Decimal(50))


# --- names and figures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "snapshot"),
    [
        ("gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("gpt-4.1", "gpt-4.1-2025-04-14"),
        ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"),
        ("claude-3-haiku", "claude-3-haiku-20240307"),
    ],
)
def test_a_short_name_finds_its_own_snapshot_never_a_longer_models(name, snapshot):
    assert TrainingTable.default().get(name).model == snapshot


def test_a_name_with_several_snapshots_of_different_limits_is_refused():
    with pytest.raises(ConfigurationError, match="several snapshots"):
        TrainingTable.default().get("gpt-3.5-turbo")


def test_percentiles_are_the_cookbooks_interpolated_ones():
    report = check_file(TOY, "gpt-3.5-turbo-0613")
    assert (report.tokens.p10, round(report.tokens.p90, 1)) == (26.8, 4863.6)
    assert (report.messages.p10, round(report.messages.p90, 1)) == (2.0, 6.6)
    assert (report.assistant_tokens.p10, round(report.assistant_tokens.p90, 1)) == (6.0, 4811.2)


def test_a_file_in_the_other_providers_format_fails_the_check(tmp_path):
    bedrock = write(
        tmp_path / "b.jsonl",
        [
            {
                "system": "s",
                "messages": [chat("q", "a")["messages"][1], chat("q", "a")["messages"][2]],
            }
            for _ in range(12)
        ],
    )
    report = check_file(bedrock, "gpt-4o-mini-2024-07-18")
    assert "wrong_format" in report.errors
    assert not report.ok
    openai = write(tmp_path / "o.jsonl", distinct(12))
    report = check_file(openai, "claude-3-haiku-20240307", example_limit=32_000)
    assert "wrong_format" in report.errors


def test_operators_and_currencies_keep_requests_apart(tmp_path):
    train = write(
        tmp_path / "t.jsonl",
        [*distinct(12), chat("What is 1+3?", "4"), chat("A $1 charge?", "Yes")],
    )
    test = write(tmp_path / "v.jsonl", [chat("What is 1-3?", "-2"), chat("A €1 charge?", "No")])
    report = check_file(train, "gpt-4o-mini", against=[test])
    assert "overlap" not in report.errors
    assert not [w for w in report.warnings if "near-duplicate" in w]


def test_tools_and_function_calls_are_counted(tmp_path):
    tool = {
        "type": "function",
        "function": {"name": "lookup", "description": "Look up an order. " * 200},
    }
    plain = check_file(write(tmp_path / "a.jsonl", distinct(12)), "gpt-4o-mini")
    tooled = check_file(
        write(tmp_path / "b.jsonl", [{**line, "tools": [tool]} for line in distinct(12)]),
        "gpt-4o-mini",
    )
    assert tooled.tokens.min > plain.tokens.min + 600


def test_labels_keep_their_json_types_apart(tmp_path):
    lines = [*distinct(10), chat("a", json.dumps({"n": 1})), chat("b", json.dumps({"n": "1"}))]
    report = check_file(write(tmp_path / "f.jsonl", lines), "gpt-4o-mini", label="n")
    assert report.labels["1"] == 1
    assert report.labels['"1"'] == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"example_limit": -5}, "example limit"),
        ({"example_limit": 0}, "example limit"),
        ({"training_price": -1}, "training price"),
        ({"training_price": "abc"}, "training_price"),
        ({"epochs": "3"}, "epochs"),
    ],
)
def test_impossible_check_settings_are_refused(tmp_path, options, message):
    with pytest.raises(ConfigurationError, match=message):
        check_file(write(tmp_path / "f.jsonl", distinct(12)), "gpt-4o-mini", **options)


def test_a_missing_model_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="model=None"):
        check_file(write(tmp_path / "f.jsonl", distinct(12)), None)  # type: ignore[arg-type]


# --- the head-to-head -------------------------------------------------------------------------


def test_decide_compares_one_template_on_two_models(tmp_path):
    store = tmp_path / "e.sqlite"
    tuned = "mock:ft:gpt-4o-mini-2024-07-18:org::x"
    run_id = run_offline(store, 30, variants=(SHORT,), models=("mock:gpt-4o-mini", tuned))
    decision = decide(
        run_id, "short", run_id, "short", TRAINING, requests_per_month=10_000, store=store,
        prompt_model="mock:gpt-4o-mini", finetuned_model=tuned,
    )  # fmt: skip
    assert decision.roi.finetuned.model == tuned.split(":", 1)[1]
    assert [v.variant for v in decision.comparison.variants] == ["prompt", "fine-tuned"]


def _short(name: str, version: str = "1.0.0") -> Any:
    from promptlib import JsonOutput, System, Template, User
    from tests.finetune.test_roi_decide import Review, Verdict

    return Template(
        [
            System(f"Label the review ({name})."),
            JsonOutput(),
            User("{{ review | delimit('review') }}"),
        ],
        name=name,
        version=version,
        inputs=Review,
        output=Verdict,
        model="gpt-4o-mini",
    )


def test_decide_compares_only_its_two_arms(tmp_path):
    store = tmp_path / "e.sqlite"
    extras = tuple(_short(f"extra{i}") for i in range(3))
    run_id = run_offline(store, 30, wrong="long", variants=(LONG, SHORT, *extras))
    decision = decide(run_id, "long", run_id, "short", TRAINING, requests_per_month=10, store=store)
    (only,) = decision.comparison.comparisons  # no correction for variants not compared
    assert only.stats.adjusted_p in (None, only.stats.p_value)
    assert decision.recommendation == "fine-tune"


def test_failed_results_make_the_evidence_not_enough(tmp_path):
    store = tmp_path / "e.sqlite"

    def script(prompt: Any) -> Any:
        if prompt.meta.template == "short" and prompt.meta.inputs["review"].endswith(("1", "3")):
            return Failure("rejected")
        return answers(None)(prompt)

    run_id = run_offline(store, 30, script=script)
    decision = decide(run_id, "long", run_id, "short", TRAINING, requests_per_month=10, store=store)
    assert decision.recommendation == "not enough evidence"
    assert "resume the runs" in decision.reasons[-1]


def test_roi_refuses_a_bare_name_with_several_versions(tmp_path):
    store = tmp_path / "e.sqlite"
    run_id = run_offline(store, 4, variants=(SHORT, _short("short", "2.0.0")))
    with pytest.raises(ConfigurationError, match="names several variants"):
        serving_from_run(run_id, "short", store=store)
    assert serving_from_run(run_id, "short@2.0.0", store=store).label.startswith("short@2.0.0")


def test_roi_refuses_impossible_numbers():
    from promptlib.finetune import Serving

    prompt = Serving("p", "gpt-4o-mini", 400, 8, "x")
    finetuned = Serving("f", "ft:gpt-4o-mini-2024-07-18:o::x", 100, 8, "x")
    with pytest.raises(ConfigurationError):
        roi(prompt, finetuned, TrainingCost(10, 3, Decimal(3)), requests_per_month=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TrainingCost(10, 3, Decimal("NaN"))


# --- lost work --------------------------------------------------------------------------------


def _job(model: str = "ft:gpt-4o-mini-2024-07-18:org::a1", job: str = "ftjob-1") -> FineTuneJob:
    return FineTuneJob(job, "gpt-4o-mini-2024-07-18", "succeeded", "file-1", fine_tuned_model=model)


def test_register_never_breaks_a_catalog_it_cannot_extend(tmp_path):
    catalog = tmp_path / "models.toml"
    catalog.write_text('models = { "mine" = { provider = "openai" } }\n')
    before = catalog.read_text()
    with pytest.raises(ConfigurationError, match="add it by hand"):
        register_model(_job(), catalog)
    assert catalog.read_text() == before
    with pytest.raises(ConfigurationError, match="is a folder"):
        register_model(_job(), tmp_path)


def test_an_earlier_export_is_kept_unless_replaced_and_then_wholly(tmp_path):
    out = tmp_path / "ft"
    data = Dataset(
        "r", tuple(Case(f"c{i}", {"review": f"r {i}"}, {"label": "positive"}) for i in range(20))
    )
    export_training_data(data, SHORT, out, splits={"train": 0.5, "validation": 0.25, "test": 0.25})
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError, match="earlier export"):
        export_training_data(data, SHORT, out)
    export_training_data(data, SHORT, out, splits={"train": 0.8, "test": 0.2}, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "notes.txt", "test.cases.jsonl", "test.jsonl", "train.jsonl",
    ]  # fmt: skip
    with pytest.raises(ConfigurationError, match="split name"):
        export_training_data(data, SHORT, tmp_path / "x", splits={"../up": 0.5, "t": 0.5})
    (tmp_path / "afile").write_text("")
    with pytest.raises(ConfigurationError, match="is a file"):
        export_training_data(data, SHORT, tmp_path / "afile")


def test_a_missing_validation_file_uploads_nothing(tmp_path):
    from promptlib import OpenAIProvider
    from promptlib.finetune import start

    train = write(tmp_path / "t.jsonl", distinct(12))
    provider = OpenAIProvider(api_key="sk-test-0123456789abcdef", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigurationError, match="cannot read"):
        start(provider, train, "gpt-4o-mini-2024-07-18", validation_file=tmp_path / "gone.jsonl")


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_checks_where_it_writes_before_working(project, capsys):
    store = project / "e.sqlite"
    run_id = run_offline(store, 4)
    args = ["decide", "--prompt", f"{run_id}:long", "--finetuned", f"{run_id}:short"]
    args += ["--store", str(store), "--training-tokens", "10", "--epochs", "3"]
    args += ["--requests-per-month", "10", "-o", "/nonexistent/dir/x.md"]
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["finetune", "follow", "ftjob-1", "--poll", "-1"])
    assert exited.value.code == 2


def test_cli_roi_needs_epochs_and_a_passing_train_file(project, capsys):
    store = project / "e.sqlite"
    run_id = run_offline(store, 4)
    base = ["finetune", "roi", "--prompt", f"{run_id}:long", "--finetuned", f"{run_id}:short"]
    base += ["--store", str(store), "--requests-per-month", "10"]
    assert main([*base, "--training-tokens", "10"]) == 2
    assert "--epochs" in capsys.readouterr().err
    bad = write(project / "bad.jsonl", ["not json"])
    assert main([*base, "--train-file", str(bad), "--base-model", "gpt-4o-mini"]) == 2
    assert "does not pass the check" in capsys.readouterr().err


def test_cli_roi_prices_with_the_projects_catalog(project, capsys):
    store = project / "e.sqlite"
    run_id = run_offline(store, 4)
    tuned = "mock:ft:gpt-4.1-nano-2025-04-14:org::y"
    ft_run = run_offline(store, 4, variants=(SHORT,), models=(tuned,), name="ft")
    (project / "mine.toml").write_text(
        f'[models."{tuned.split(":", 1)[1]}"]\nprovider = "openai"\nencoding = "o200k_base"\n'
        "input = 0.2\noutput = 0.8\n"
    )
    args = ["--catalog", "mine.toml", "finetune", "roi", "--prompt", f"{run_id}:long"]
    args += ["--finetuned", f"{ft_run}:short", "--store", str(store), "--json"]
    args += ["--training-tokens", "10", "--epochs", "3", "--requests-per-month", "10"]
    assert main(args) == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    assert data["finetuned"]["cost_per_request"] is not None


def test_cli_start_takes_the_example_limit(project, capsys, monkeypatch):
    import promptlib.finetune

    started = []

    def fake_start(provider: Any, file: Any, model: str, **options: Any) -> FineTuneJob:
        started.append(model)
        return FineTuneJob("ftjob-1", model, "queued", "file-1")

    monkeypatch.setattr(promptlib.finetune, "start", fake_start)
    train = write(project / "t.jsonl", distinct(12))
    args = ["finetune", "start", str(train), "--model", "gpt-4.1-2025-04-14"]
    assert main(args) == 2  # its example limit is not in the table: the check asks for it
    assert "--example-limit" in capsys.readouterr().err
    assert main([*args, "--example-limit", "65536"]) == 0
    assert started == ["gpt-4.1-2025-04-14"]


def test_cli_export_from_a_csv_with_columns_and_the_expected_field(project, capsys):
    from tests.finetune.test_export import Route, Ticket  # noqa: F401 (the template's models)

    (project / "b.csv").write_text(
        "text,category\n" + "".join(f"my card {i},card_arrival\n" for i in range(10))
    )
    template = project / "templates" / "intent"
    template.mkdir(parents=True)
    (template / "1.0.0.prompt").write_text(
        '---\nname: intent\nversion: "1.0.0"\ninputs:\n  query: {type: string}\n'
        "output:\n  type: object\n  properties: {intent: {type: string}}\n"
        "  required: [intent]\n  additionalProperties: false\n---\n"
        "[system]\nClassify.\n\n[json-output]\n\n[user]\n{{ query }}\n"
    )
    args = ["--templates", "templates", "finetune", "export", "b.csv", "--template", "intent@1.0.0"]
    args += ["--out", "ft", "--column", "text=input:query", "--column", "category=expected"]
    args += ["--expected-field", "intent"]
    assert main(args) == 0, capsys.readouterr().err
    line = json.loads((project / "ft" / "train.jsonl").read_text().splitlines()[0])
    assert json.loads(line["messages"][-1]["content"]) == {"intent": "card_arrival"}


# --- the held-out split -------------------------------------------------------------------------


def test_the_export_writes_its_held_out_cases_as_a_dataset_and_decide_checks_them(tmp_path):
    from promptlib.evals import load_dataset

    data = reviews(40)
    exported = export_training_data(data, SHORT, tmp_path / "ft", stratify="expected")
    held_out = load_dataset(tmp_path / "ft" / "test.cases.jsonl")
    assert held_out.ids == exported.datasets["test"].ids
    store = tmp_path / "e.sqlite"
    run_id = run_offline(store, 40, wrong="long")  # every case: training ones included
    with pytest.raises(ConfigurationError, match="in the training data"):
        decide(
            run_id, "long", run_id, "short", TRAINING, requests_per_month=10, store=store,
            manifest=exported.manifest,
        )  # fmt: skip


def test_the_payback_horizon_is_a_setting(tmp_path):
    store = tmp_path / "e.sqlite"
    run_id = run_offline(store, 160)
    args = (run_id, "long@1.0.0", run_id, "short@1.0.0")
    cost = TrainingCost(100_000, 3, Decimal(3), Decimal(500))
    first = decide(*args, cost, requests_per_month=1_000_000, store=store)
    months = first.roi.break_even_months
    assert months is not None
    patient = decide(
        *args, cost, requests_per_month=1_000_000, store=store, payback_months=months + 1
    )
    hasty = decide(
        *args, cost, requests_per_month=1_000_000, store=store, payback_months=months / 2
    )
    assert (patient.recommendation, hasty.recommendation) == ("fine-tune", "keep the prompt")
    with pytest.raises(ConfigurationError, match="payback_months"):
        decide(*args, cost, requests_per_month=10, store=store, payback_months=0)


# --- the second review ------------------------------------------------------------------------


def test_a_bedrock_export_without_a_system_prompt_passes_its_check(tmp_path):
    from promptlib import JsonOutput, Template, User
    from tests.finetune.test_roi_decide import Review, Verdict

    bare = Template(
        [JsonOutput(), User("{{ review | delimit('review') }}")],
        name="bare", version="1.0.0", inputs=Review, output=Verdict,
    )  # fmt: skip
    exported = export_training_data(reviews(40), bare, tmp_path / "ft", format="bedrock")
    report = check_file(exported.files["train"], "claude-3-haiku", example_limit=32_000)
    assert report.ok, report.errors


def test_a_claude_model_missing_from_the_table_is_checked_as_bedrock(tmp_path):
    from tests.finetune.test_check import bedrock

    lines = [bedrock(f"q{i}", f"a{i}") for i in range(12)]
    report = check_file(
        write(tmp_path / "b.jsonl", lines), "claude-3-5-haiku-20241022", example_limit=8000
    )
    assert (report.format, report.ok) == ("bedrock", True)


def test_an_unknown_serving_price_is_not_a_recommendation(tmp_path):
    store = tmp_path / "e.sqlite"
    tuned = "mock:ft:gpt-5-nano-2025-08-07:org::x"  # no ft: prices for gpt-5-nano
    run_id = run_offline(store, 160, variants=(SHORT,), models=("mock:gpt-4o-mini", tuned))
    decision = decide(
        run_id, "short", run_id, "short", TRAINING, requests_per_month=10_000, store=store,
        prompt_model="mock:gpt-4o-mini", finetuned_model=tuned,
    )  # fmt: skip
    assert decision.recommendation == "not enough evidence"
    assert "is unknown (add it to your catalog)" in decision.reasons[-1]
