"""The cost side (``roi``, ``Serving``, ``TrainingCost``, measured and counted servings), the
head-to-head ``decide`` on offline runs, its renderers, and the ``finetune``/``decide`` CLI."""

from __future__ import annotations

import json
import statistics
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from promptlib import Example, FewShot, JsonOutput, System, Template, Untrusted, User
from promptlib._cli import main
from promptlib._errors import ConfigurationError, UsageError
from promptlib._tokens.counting import count_tokens
from promptlib.evals import _scorers as scorers
from promptlib.evals._dataset import Case, Dataset
from promptlib.evals._experiment import Experiment
from promptlib.evals._runner import run
from promptlib.evals._store import Store
from promptlib.finetune import (
    Serving,
    TrainingCost,
    check_file,
    decide,
    default_epochs,
    roi,
    serving_from_run,
    serving_from_tokens,
)
from promptlib.finetune._decide import PAYBACK_MONTHS, render_html, render_markdown, render_text
from promptlib.finetune._roi import DEFAULT_VOLUMES
from promptlib.testing import Failure, MockProvider

MILLION = Decimal(1_000_000)
# The catalog's prices (dollars per million tokens), which the hand computations use.
MINI_IN, MINI_OUT = Decimal("0.15"), Decimal("0.6")
FT_MINI_IN, FT_MINI_OUT = Decimal("0.3"), Decimal("1.2")
FT_MODEL = "ft:gpt-4o-mini-2024-07-18:acme::abc123"


def per_request(tokens_in: int, tokens_out: int, price_in: Decimal, price_out: Decimal) -> Decimal:
    return (tokens_in * price_in + tokens_out * price_out) / MILLION


# --- roi arithmetic, by hand -------------------------------------------------------------------


def servings() -> tuple[Serving, Serving]:
    prompt = Serving("prompt: long", "gpt-4o-mini", 1000, 50, "given")
    finetuned = Serving("fine-tune: short", FT_MODEL, 200, 50, "given")
    return prompt, finetuned


def test_cost_per_request_comes_from_the_catalogs_prices():
    prompt, finetuned = servings()
    assert prompt.cost_per_request == Decimal("0.00018")  # 1000 x 0.15 + 50 x 0.6, per 1e6
    assert prompt.cost_per_request == per_request(1000, 50, MINI_IN, MINI_OUT)
    assert finetuned.cost_per_request == Decimal("0.00012")  # 200 x 0.3 + 50 x 1.2
    assert finetuned.cost_per_request == per_request(200, 50, FT_MINI_IN, FT_MINI_OUT)
    assert prompt.missing_price() is None


def test_roi_monthly_one_off_break_even_and_sensitivity_by_hand():
    prompt, finetuned = servings()
    training = TrainingCost(
        tokens=500_000,
        epochs=3,
        price=Decimal("3.0"),
        labelling=Decimal(300),
        engineering=Decimal(10) * Decimal(100),
    )
    assert training.training == Decimal("4.5")  # 500,000 x 3 x $3 / 1e6
    assert training.total == Decimal("1304.5")  # + 300 labelling + 1000 engineering
    result = roi(prompt, finetuned, training, requests_per_month=250_000)
    assert result.monthly_prompt == Decimal("45")  # 0.00018 x 250,000
    assert result.monthly_finetuned == Decimal("30")
    assert result.monthly_saving == Decimal("15")
    assert result.break_even_months == pytest.approx(1304.5 / 15)
    assert result.missing == ()
    assert result.computable
    volumes = [row[0] for row in result.sensitivity]
    assert volumes == sorted({*DEFAULT_VOLUMES, 250_000})
    assert 250_000 in volumes
    for volume, a, b, saving, months in result.sensitivity:
        assert a == Decimal("0.00018") * volume
        assert b == Decimal("0.00012") * volume
        assert saving == a - b
        assert months == pytest.approx(float(Decimal("1304.5") / (Decimal("0.00006") * volume)))
    million = {row[0]: row[4] for row in result.sensitivity}[1_000_000]
    assert million == pytest.approx(1304.5 / 60)
    data = result.to_dict()
    json.dumps(data)
    assert data["training"]["one_off_total"] == "1304.500000"
    assert data["training"]["training_cost"] == "4.500000"
    assert data["monthly_saving"] == "15.000000"
    assert data["break_even_months"] == round(1304.5 / 15, 2)
    assert data["prompt"]["cost_per_request"] == "0.000180"
    assert [row["requests_per_month"] for row in data["sensitivity"]] == volumes


def test_the_requested_volume_already_in_the_table_is_not_repeated():
    prompt, finetuned = servings()
    result = roi(prompt, finetuned, TrainingCost(1000, 3, Decimal(3)), requests_per_month=100_000)
    assert [row[0] for row in result.sensitivity] == list(DEFAULT_VOLUMES)
    custom = roi(
        prompt,
        finetuned,
        TrainingCost(1000, 3, Decimal(3)),
        requests_per_month=5,
        volumes=(1, 1000),
    )
    assert [row[0] for row in custom.sensitivity] == [1, 5, 1000]


def test_unknown_prices_make_figures_unknown_never_zero():
    prompt, _ = servings()
    local = Serving("fine-tune: local", "my-local-model", 200, 50, "given")
    assert local.cost_per_request is None
    assert local.missing_price() == "the price of my-local-model"
    result = roi(prompt, local, TrainingCost(10_000, 3, None), requests_per_month=1000)
    assert result.monthly_prompt == Decimal("0.18")
    assert result.monthly_finetuned is None
    assert result.monthly_saving is None
    assert result.break_even_months is None
    assert result.training.training is None
    assert result.training.total is None
    assert result.missing == (
        "the price of my-local-model",
        "the training price (give --training-price)",
    )
    assert not result.computable
    for _, a, b, saving, months in result.sensitivity:
        assert a is not None
        assert a > 0
        assert (b, saving, months) == (None, None, None)
    data = result.to_dict()
    assert data["monthly_finetuned"] is None
    assert data["training"]["one_off_total"] is None
    assert data["finetuned"]["cost_per_request"] is None
    assert data["computable"] is False


def test_a_fine_tune_of_a_base_without_fine_tuned_prices_is_unknown():
    # gpt-5-nano is in the catalog, its fine-tuned prices are not: unknown, not the base's.
    tuned = Serving("ft", "ft:gpt-5-nano-2025-08-07:acme::x", 100, 10, "given")
    assert tuned.cost_per_request is None
    assert tuned.missing_price() == "the price of ft:gpt-5-nano-2025-08-07:acme::x"


def test_only_the_training_price_unknown_leaves_the_monthly_figures_known():
    prompt, finetuned = servings()
    result = roi(prompt, finetuned, TrainingCost(10_000, 3, None), requests_per_month=1000)
    assert result.monthly_saving == Decimal("0.06")
    assert result.break_even_months is None
    assert result.missing == ("the training price (give --training-price)",)


def test_a_fine_tune_that_costs_more_to_serve_never_breaks_even():
    prompt = Serving("prompt", "gpt-4o-mini", 200, 50, "given")
    finetuned = Serving("ft", FT_MODEL, 200, 50, "given")  # the same tokens at twice the price
    result = roi(prompt, finetuned, TrainingCost(1000, 3, Decimal(3)), requests_per_month=10_000)
    assert result.monthly_saving == Decimal("-0.6")  # (0.00006 - 0.00012) x 10,000
    assert result.break_even_months is None
    assert result.missing == ()
    assert all(row[3] < 0 and row[4] is None for row in result.sensitivity)
    same = roi(prompt, prompt, TrainingCost(1000, 3, Decimal(3)), requests_per_month=10_000)
    assert same.monthly_saving == 0
    assert same.break_even_months is None  # saving nothing never pays back


def test_a_free_fine_tune_that_saves_breaks_even_at_once():
    prompt, finetuned = servings()
    result = roi(prompt, finetuned, TrainingCost(0, 1, Decimal(3)), requests_per_month=1000)
    assert result.break_even_months == 0.0


def test_impossible_costs_are_refused_when_made():
    for options in ({"labelling": Decimal(-1)}, {"engineering": -5}, {"price": float("nan")}):
        with pytest.raises(ConfigurationError, match="0 or more"):
            TrainingCost(10, 3, **{"price": Decimal(3), **options})
    for bad in (float("nan"), float("inf"), -1):
        with pytest.raises(ConfigurationError, match="give tokens"):
            Serving("p", "gpt-4o-mini", input_tokens=bad, output_tokens=1, source="x")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"requests_per_month": 0}, "1 or more"),
        ({"requests_per_month": 2.5}, "whole number"),
        ({"volumes": (0, 10)}, "1 or more"),
        ({"training": TrainingCost(-1, 3, Decimal(3))}, "0 or more"),
        ({"training": TrainingCost(10, 0, Decimal(3))}, "epochs 1 to 50"),
        ({"training": TrainingCost(10, 3.0, Decimal(3))}, "epochs 1 to 50"),  # type: ignore[arg-type]
    ],
)
def test_impossible_roi_inputs_are_refused(change, message):
    prompt, finetuned = servings()
    options: dict[str, Any] = {
        "training": TrainingCost(10, 3, Decimal(3)),
        "requests_per_month": 10,
    } | change
    training = options.pop("training")
    with pytest.raises(ConfigurationError, match=message):
        roi(prompt, finetuned, training, **options)


def test_a_float_training_price_is_accepted_like_check_files():
    assert TrainingCost(1_000_000, 1, 3.0).training == Decimal(3)  # type: ignore[arg-type]


def test_serving_from_tokens_averages_the_counted_prompts():
    serving = serving_from_tokens("prompt: counted", "gpt-4o-mini", [100, 200, 300], 20)
    assert (serving.input_tokens, serving.output_tokens) == (200, 20)
    assert serving.source == "counted from 3 rendered prompts, replies of 20 tokens"
    assert serving.cost_per_request == per_request(200, 20, MINI_IN, MINI_OUT)
    assert serving.latency_p50 is None
    with pytest.raises(ConfigurationError, match="no prompts were counted"):
        serving_from_tokens("empty", "gpt-4o-mini", [], 20)


# --- offline runs ------------------------------------------------------------------------------


class Review(BaseModel):
    review: Untrusted


class Verdict(BaseModel):
    label: Literal["positive", "negative"]


SHOTS = [
    Example(
        {"review": f"Worked example {i}: " + "a long and detailed review text " * 8},
        Verdict(label="positive" if i % 2 else "negative"),
    )
    for i in range(6)
]
LONG = Template(
    [
        System("Label the sentiment of product reviews."),
        JsonOutput(),
        FewShot(SHOTS),
        User("{{ review | delimit('review') }}"),
    ],
    name="long",
    version="1.0.0",
    inputs=Review,
    output=Verdict,
    model="gpt-4o-mini",
)
SHORT = Template(
    [System("Label the review."), JsonOutput(), User("{{ review | delimit('review') }}")],
    name="short",
    version="1.0.0",
    inputs=Review,
    output=Verdict,
    model="gpt-4o-mini",
)


def truth(i: int) -> str:
    return "positive" if i % 2 else "negative"


def reviews(n: int) -> Dataset:
    return Dataset(
        "reviews",
        tuple(Case(f"r{i:03d}", {"review": f"review {i}"}, {"label": truth(i)}) for i in range(n)),
    )


def answers(wrong: str | None = None):
    """The mock's script: every variant right, except ``wrong``, which is always wrong."""

    def reply(prompt):
        i = int(prompt.meta.inputs["review"].split()[1])
        label = truth(i)
        if prompt.meta.template == wrong:
            label = "positive" if label == "negative" else "negative"
        return {"label": label}

    return reply


def run_offline(
    store: Path,
    n: int,
    *,
    wrong: str | None = None,
    variants: tuple[Template, ...] = (LONG, SHORT),
    models: tuple[str, ...] = ("mock:gpt-4o-mini",),
    name: str = "reviews",
    script: Any = None,
) -> str:
    result = run(
        Experiment(
            name=name,
            dataset=reviews(n),
            variants=list(variants),
            models=list(models),
            scorers=[scorers.exact()],
            concurrency=4,
        ),
        store=store,
        providers={m: MockProvider(script or answers(wrong)) for m in models},
        progress=False,
    )
    assert result.status == "finished"
    return result.run_id


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """One store, four runs: the short prompt right and the long one wrong (30 cases), the
    reverse, all right on 4 cases, and all right on 160 cases."""
    store = tmp_path_factory.mktemp("runs") / "evals.sqlite"
    return {
        "store": store,
        "long_wrong": run_offline(store, 30, wrong="long"),
        "short_wrong": run_offline(store, 30, wrong="short"),
        "few": run_offline(store, 4),
        "many": run_offline(store, 160),
    }


def stored(store: Path, run_id: str, variant: str) -> list[Any]:
    with Store(store) as db:
        return [r for r in db.results(run_id) if r.variant == variant]


def test_serving_from_run_measures_mean_tokens_and_latency(runs):
    store, run_id = runs["store"], runs["long_wrong"]
    long = serving_from_run(run_id, "long@1.0.0", store=store)
    short = serving_from_run(run_id, "short@1.0.0", store=store)
    for serving, template, variant in ((long, LONG, "long@1.0.0"), (short, SHORT, "short@1.0.0")):
        rows = stored(store, run_id, variant)
        assert len(rows) == 30
        assert serving.input_tokens == statistics.fmean(r.input_tokens for r in rows)
        assert serving.output_tokens == statistics.fmean(r.output_tokens for r in rows)
        counted = [
            count_tokens(template.render(review=f"review {i}"), "gpt-4o-mini").total
            for i in range(30)
        ]
        assert serving.input_tokens == statistics.fmean(counted)  # the mock reports real counts
        latencies = sorted(r.latency for r in rows)
        # linear interpolation between ranks, numpy's default: p50 of 30 is ranks 14 and 15
        assert serving.latency_p50 == pytest.approx((latencies[14] + latencies[15]) / 2)
        assert serving.latency_p95 == pytest.approx(
            latencies[27] + (latencies[28] - latencies[27]) * 0.55
        )
        assert 0 < serving.latency_p50 <= serving.latency_p95
        assert serving.model == "gpt-4o-mini"
        assert serving.label == f"{variant} on gpt-4o-mini"
        assert serving.source == f"measured in run {run_id} over 30 results"
        assert serving.cost_per_request == per_request(
            round(serving.input_tokens), round(serving.output_tokens), MINI_IN, MINI_OUT
        )
    assert long.input_tokens > 3 * short.input_tokens  # six long examples against none
    assert long.cost_per_request > short.cost_per_request
    by_name = serving_from_run(run_id, "short", store=store, label="the short one")
    assert by_name.input_tokens == short.input_tokens
    assert by_name.label == "the short one"


def test_serving_from_run_leaves_failed_results_out(tmp_path):
    def script(prompt):
        if prompt.meta.template == "short" and prompt.meta.inputs["review"] == "review 3":
            return Failure("rejected")
        return answers()(prompt)

    store = tmp_path / "evals.sqlite"
    run_id = run_offline(store, 6, script=script, variants=(SHORT,))
    serving = serving_from_run(run_id, "short@1.0.0", store=store)
    assert serving.source == f"measured in run {run_id} over 5 results"
    ok = [r for r in stored(store, run_id, "short@1.0.0") if r.error is None]
    assert serving.input_tokens == statistics.fmean(r.input_tokens for r in ok)


def test_serving_from_run_names_what_it_cannot_find(runs, tmp_path):
    store, run_id = runs["store"], runs["long_wrong"]
    with pytest.raises(ConfigurationError, match=r"no successful result of variant 'medium'"):
        serving_from_run(run_id, "medium", store=store)
    with pytest.raises(ConfigurationError, match="on gpt-4o"):
        serving_from_run(run_id, "long@1.0.0", store=store, model="gpt-4o")
    with pytest.raises(ConfigurationError, match="no run 'nightly-000'"):
        serving_from_run("nightly-000", "long@1.0.0", store=store)
    with pytest.raises(UsageError):
        serving_from_run(run_id, "long@1.0.0", store=tmp_path / "missing.sqlite")


def test_a_variant_on_two_models_must_be_narrowed_to_one(tmp_path):
    store = tmp_path / "evals.sqlite"
    run_id = run_offline(
        store, 4, variants=(SHORT,), models=("mock:gpt-4o-mini", "mock:gpt-4o"), name="two"
    )
    with pytest.raises(ConfigurationError, match="RUN:VARIANT:MODEL"):
        serving_from_run(run_id, "short@1.0.0", store=store)
    big = serving_from_run(run_id, "short@1.0.0", store=store, model="gpt-4o")
    small = serving_from_run(run_id, "short@1.0.0", store=store, model="mock:gpt-4o-mini")
    assert (big.model, small.model) == ("gpt-4o", "gpt-4o-mini")
    assert big.cost_per_request > small.cost_per_request


# --- decide ------------------------------------------------------------------------------------

TRAINING = TrainingCost(100_000, 3, Decimal(3), Decimal(50))  # $0.90 + $50 once


def test_a_significantly_better_and_cheaper_fine_tune_is_recommended(runs):
    store, run_id = runs["store"], runs["long_wrong"]
    decision = decide(
        run_id,
        "long@1.0.0",
        run_id,
        "short@1.0.0",
        TRAINING,
        requests_per_month=100_000,
        store=store,
    )
    assert decision.recommendation == "fine-tune"
    (comparison,) = decision.comparison.comparisons
    assert decision.comparison.baseline == "prompt"  # the two arms, named by their role
    assert comparison.outcome == "better"
    assert comparison.stats.n == 30
    prompt = serving_from_run(run_id, "long@1.0.0", store=store)
    finetuned = serving_from_run(run_id, "short@1.0.0", store=store)
    saving = (prompt.cost_per_request - finetuned.cost_per_request) * 100_000
    assert decision.roi.monthly_saving == saving
    assert decision.roi.training.total == Decimal("50.9")
    assert decision.roi.break_even_months == pytest.approx(float(Decimal("50.9") / saving))
    reasons = decision.reasons
    assert reasons[0].startswith("quality: the fine-tune scores +100.0 points against the prompt")
    assert "30 paired cases" in reasons[0]
    assert reasons[1].startswith(
        f"cost: ${prompt.cost_per_request:.6f} per request with the prompt, "
        f"${finetuned.cost_per_request:.6f} fine-tuned; at 100,000 requests a month"
    )
    assert reasons[2] == (
        f"payback: $50.90 once, recovered in {decision.roi.break_even_months:.1f} months"
    )
    assert reasons[3].startswith("latency: p50 ")
    assert reasons[-1].startswith("the fine-tune is significantly better and pays back in ")
    data = decision.to_dict()
    json.dumps(data)
    assert data["recommendation"] == "fine-tune"
    assert data["cost"]["break_even_months"] == round(decision.roi.break_even_months, 2)
    assert data["quality"]["baseline"] == "prompt"


def test_a_significantly_worse_fine_tune_keeps_the_prompt(runs):
    store, run_id = runs["store"], runs["short_wrong"]
    decision = decide(
        run_id, "long@1.0.0", run_id, "short@1.0.0", TRAINING, requests_per_month=100_000,
        store=store,
    )  # fmt: skip
    assert decision.recommendation == "keep the prompt"
    assert decision.comparison.comparisons[0].outcome == "worse"
    assert decision.reasons[0].startswith("quality: the fine-tune scores -100.0 points")
    assert decision.reasons[-1] == "the fine-tune is significantly worse"
    # It would have paid back: quality decides, not cost.
    assert decision.roi.break_even_months is not None


def test_a_better_fine_tune_that_costs_more_says_so(runs):
    # Here the long prompt plays the fine-tune: right every time, and dearer to serve.
    store, run_id = runs["store"], runs["short_wrong"]
    decision = decide(
        run_id, "short@1.0.0", run_id, "long@1.0.0", TRAINING, requests_per_month=100_000,
        store=store,
    )  # fmt: skip
    assert decision.recommendation == "fine-tune"
    assert decision.roi.monthly_saving < 0
    assert decision.roi.break_even_months is None
    extra = -decision.roi.monthly_saving
    assert "payback: never — the fine-tune costs no less to serve" in decision.reasons
    assert decision.reasons[-1] == (
        f"the fine-tune is significantly better, and costs ${extra:,.2f} a month more to "
        "serve: worth it if that quality is worth the money"
    )


def test_too_few_cases_are_not_enough_evidence(runs):
    store, run_id = runs["store"], runs["few"]
    decision = decide(
        run_id, "long@1.0.0", run_id, "short@1.0.0", TRAINING, requests_per_month=100_000,
        store=store,
    )  # fmt: skip
    stats = decision.comparison.comparisons[0].stats
    assert decision.comparison.comparisons[0].outcome == "no detectable difference"
    assert stats.n == 4
    assert stats.cases_needed > 4
    assert decision.recommendation == "not enough evidence"
    assert decision.reasons[-1] == (
        f"not enough evidence yet: 4 cases cannot detect a 5-point difference; about "
        f"{stats.cases_needed:,} would"
    )


def test_no_detectable_difference_on_enough_cases_is_settled_by_the_payback(runs):
    store, run_id = runs["store"], runs["many"]
    args = (run_id, "long@1.0.0", run_id, "short@1.0.0")
    cheap = decide(*args, TrainingCost(100_000, 3, Decimal(3)), requests_per_month=100_000,
                   store=store)  # fmt: skip
    stats = cheap.comparison.comparisons[0].stats
    assert stats.n == 160
    assert stats.n >= stats.cases_needed
    assert cheap.roi.break_even_months < PAYBACK_MONTHS
    assert cheap.recommendation == "fine-tune"
    assert cheap.reasons[-1].startswith("no difference in quality that these cases could detect")
    assert cheap.reasons[-1].endswith("pays back within 12 months")
    dear = decide(*args, TrainingCost(100_000, 3, Decimal(3), Decimal(10_000)),
                  requests_per_month=100_000, store=store)  # fmt: skip
    assert dear.roi.break_even_months > PAYBACK_MONTHS
    assert dear.recommendation == "keep the prompt"
    assert dear.reasons[-1].endswith("does not pay back within 12 months")
    unknown = decide(*args, TrainingCost(100_000, 3, None), requests_per_month=100_000,
                     store=store)  # fmt: skip
    assert unknown.recommendation == "not enough evidence"
    assert "the training price is unknown" in unknown.reasons[-1]
    assert "if training costs less than $" in unknown.reasons[-1]
    assert (
        "not computable: the training price (give --training-price) unknown" in (unknown.reasons[1])
    )


def test_decide_across_two_runs_of_the_same_dataset(tmp_path):
    store = tmp_path / "evals.sqlite"
    prompt_run = run_offline(store, 30, wrong="long", variants=(LONG,), name="prompt")
    tuned_run = run_offline(store, 30, variants=(SHORT,), name="tuned")
    decision = decide(
        prompt_run, "long@1.0.0", tuned_run, "short@1.0.0", TRAINING, requests_per_month=1000,
        store=store,
    )  # fmt: skip
    assert decision.recommendation == "fine-tune"
    assert set(decision.comparison.runs) == {prompt_run, tuned_run}


def test_decide_refuses_what_it_cannot_compare(runs, tmp_path):
    store, run_id = runs["store"], runs["long_wrong"]
    with pytest.raises(ConfigurationError, match=r"variant 'medium@1\.0\.0'"):
        decide(run_id, "medium@1.0.0", run_id, "short@1.0.0", TRAINING,
               requests_per_month=10, store=store)  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"'medium@1\.0\.0'"):
        decide(run_id, "long@1.0.0", run_id, "medium@1.0.0", TRAINING,
               requests_per_month=10, store=store)  # fmt: skip
    # Runs of different datasets (30 and 4 cases) are not a head-to-head.
    with pytest.raises(ConfigurationError, match="cannot compare"):
        decide(runs["long_wrong"], "long@1.0.0", runs["few"], "short@1.0.0", TRAINING,
               requests_per_month=10, store=store)  # fmt: skip


def test_decide_takes_variant_names_like_serving_from_run(runs):
    store, run_id = runs["store"], runs["long_wrong"]
    decision = decide(run_id, "long", run_id, "short", TRAINING, requests_per_month=10,
                      store=store)  # fmt: skip
    assert decision.recommendation == "fine-tune"


# --- renderers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decision(runs) -> Any:
    return decide(
        runs["long_wrong"], "long@1.0.0", runs["long_wrong"], "short@1.0.0", TRAINING,
        requests_per_month=250_000, store=runs["store"],
    )  # fmt: skip


def test_the_text_rendering(decision):
    text = render_text(decision)
    assert text.startswith("recommendation: fine-tune\n\n")
    for reason in decision.reasons:
        assert f"- {reason}\n" in text
    table = text.split("\n\n")[-1].splitlines()
    assert table[0].split() == [
        "requests/month", "prompt", "fine-tuned", "saving/month", "break-even", "(months)",
    ]  # fmt: skip
    assert [row.split()[0] for row in table[1:]] == [
        "10,000", "100,000", "250,000", "1,000,000", "10,000,000",
    ]  # fmt: skip
    months = {row[0]: row[4] for row in decision.roi.sensitivity}
    assert table[3].split()[-1] == f"{months[250_000]:.1f}"


def test_the_markdown_rendering(decision):
    markdown = render_markdown(decision)
    assert markdown.startswith("## Prompt or fine-tune: **fine-tune**\n\n")
    assert "| requests/month | prompt | fine-tuned | saving/month | break-even (months) |" in (
        markdown
    )
    assert "|---|---|---|---|---|" in markdown
    assert markdown.count("\n| ") == 1 + len(decision.roi.sensitivity)
    assert "| 250,000 |" in markdown


def test_the_html_rendering_is_one_page_without_scripts(decision):
    page = render_html(decision)
    assert page.startswith("<!doctype html>")
    assert "http-equiv='Content-Security-Policy'" in page
    assert "default-src 'none'" in page
    assert "<script" not in page.lower()
    assert "<h1>Prompt or fine-tune: fine-tune</h1>" in page
    assert page.count("<tr>") == 1 + len(decision.roi.sensitivity)
    assert "p50" in page
    assert "payback: $50.90 once" in page


def test_the_html_escapes_what_it_shows(decision):
    from dataclasses import replace

    hostile = replace(decision, reasons=("<script>alert(1)</script> & <b>",))
    page = render_html(hostile)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page


def test_an_unknown_training_price_is_not_shown_as_never_breaking_even(runs):
    unknown = decide(
        runs["long_wrong"], "long@1.0.0", runs["long_wrong"], "short@1.0.0",
        TrainingCost(100_000, 3, None), requests_per_month=100_000, store=runs["store"],
    )  # fmt: skip
    assert unknown.roi.monthly_saving > 0
    assert unknown.roi.break_even_months is None
    rows = render_markdown(unknown).splitlines()[-len(unknown.roi.sensitivity) :]
    assert all(row.endswith("| unknown |") for row in rows), rows


# --- the command line --------------------------------------------------------------------------

REVIEW_TEMPLATE = """\
---
name: review
version: "1.0.0"
description: Label the sentiment of a review.
model: gpt-4o-mini
inputs:
  review:
    type: string
    untrusted: true
output:
  title: ReviewLabel
  type: object
  properties:
    label:
      type: string
      enum: [positive, negative]
  required: [label]
  additionalProperties: false
examples:
  - input: {review: "Lovely, works every day."}
    output: {label: positive}
  - input: {review: "Broke in a week."}
    output: {label: negative}
---
[system]
You label the sentiment of product reviews.

[json-output]

[examples]

[context review]
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project: a templates folder ``tpl`` (not the default) and a labelled dataset."""
    (tmp_path / "tpl" / "review").mkdir(parents=True)
    (tmp_path / "tpl" / "review" / "1.0.0.prompt").write_text(REVIEW_TEMPLATE, encoding="utf-8")
    with (tmp_path / "reviews.jsonl").open("w", encoding="utf-8") as file:
        for case in reviews(40):
            record = {"id": case.id, "inputs": dict(case.inputs), "expected": case.expected}
            file.write(json.dumps(record) + "\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_export_writes_the_splits_and_the_manifest(project, capsys):
    code, out, err = cli(
        capsys, "--templates", "tpl", "finetune", "export", "reviews.jsonl",
        "--template", "review@1.0.0", "--out", "ft", "--stratify", "expected", "--seed", "4",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == [
        f"train: 32 examples -> {Path('ft/train.jsonl')}",
        f"validation: 4 examples -> {Path('ft/validation.jsonl')}",
        f"test: 4 examples -> {Path('ft/test.jsonl')}",
        f"manifest: {Path('ft/manifest.json')}",
    ]
    manifest = json.loads((project / "ft" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["template"] == "review@1.0.0"
    assert manifest["seed"] == 4
    record = json.loads((project / "ft" / "train.jsonl").read_text(encoding="utf-8").split("\n")[0])
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]

    code, out, err = cli(
        capsys, "finetune", "export", "reviews.jsonl", "--templates", "tpl",
        "--template", "review@1.0.0", "--out", "bed", "--format", "bedrock", "--few-shot",
        "--split", "train=0.5,test=0.5", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["counts"] == {"train": 20, "test": 20}
    assert data["labels"] == {}
    bedrock = json.loads(Path(data["files"]["train"]).read_text(encoding="utf-8").split("\n")[0])
    assert [m["role"] for m in bedrock["messages"]] == ["user", "assistant"] * 3


def test_cli_export_errors_are_one_line_with_exit_2(project, capsys):
    code, _, err = cli(
        capsys, "--templates", "tpl", "finetune", "export", "reviews.jsonl",
        "--template", "review@1.0.0", "--out", "ft", "--split", "train:0.8",
    )  # fmt: skip
    assert code == 2
    assert "give NAME=SHARE pairs" in err
    with (project / "reviews.jsonl").open("a", encoding="utf-8") as file:
        file.write(json.dumps({"id": "odd", "inputs": {"review": "x"}, "expected": "meh"}) + "\n")
    code, _, err = cli(
        capsys, "--templates", "tpl", "finetune", "export", "reviews.jsonl",
        "--template", "review@1.0.0", "--out", "ft",
    )  # fmt: skip
    assert code == 2
    assert "case 'odd'" in err
    assert "Traceback" not in err
    assert not (project / "ft" / "train.jsonl").exists()


def test_cli_check_exit_codes_and_json(project, capsys):
    assert cli(capsys, "--templates", "tpl", "finetune", "export", "reviews.jsonl",
               "--template", "review@1.0.0", "--out", "ft")[0] == 0  # fmt: skip
    code, out, _ = cli(capsys, "finetune", "check", "ft/train.jsonl", "--model", "gpt-4o-mini")
    assert code == 0
    assert out.splitlines()[0] == f"{Path('ft/train.jsonl')}: 32 examples (openai format)"
    assert out.splitlines()[-1] == "ok"
    assert "warning: only 32 examples" in out

    code, out, _ = cli(capsys, "finetune", "check", "ft/train.jsonl", "--model", "gpt-4o-mini",
                       "--against", "ft/train.jsonl", "--json")  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["errors"]["overlap"]["count"] == 32

    toy = Path(__file__).resolve().parents[1] / "data" / "finetuning"
    toy_file = str(toy / "openai_cookbook_toy_chat_fine_tuning.jsonl")
    code, out, _ = cli(capsys, "finetune", "check", toy_file, "--model", "gpt-3.5-turbo-0613")
    assert code == 1  # too few examples
    assert "~4,306 billable tokens x 20 epochs = ~86,120 charged tokens" in out
    assert "1 example(s) over the 4,096-token limit of gpt-3.5-turbo-0613 will be truncated" in out
    assert "no system message: 1; no user message: 1" in out
    assert out.splitlines()[-1] == "not ready: fix the errors above"

    bad = project / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{oops\n', encoding="utf-8")
    code, out, _ = cli(capsys, "finetune", "check", "bad.jsonl", "--model", "gpt-4o-mini", "--json")
    assert code == 1
    errors = json.loads(out)["errors"]
    assert errors["example_missing_assistant_message"] == {"count": 1, "lines": [1]}
    assert errors["invalid_json"] == {"count": 1, "lines": [2]}
    code, out, _ = cli(capsys, "finetune", "check", "bad.jsonl", "--model", "gpt-4o-mini")
    assert "  invalid_json: 1 (lines 2)" in out

    bedrock = str(toy / "anthropic_cookbook_bedrock_json_mode_dataset.jsonl")
    code, _, err = cli(capsys, "finetune", "check", bedrock, "--model", "claude-3-haiku")
    assert code == 2
    assert "--example-limit" in err
    code, out, _ = cli(capsys, "finetune", "check", bedrock, "--model", "claude-3-haiku",
                       "--example-limit", "32000", "--training-price", "4", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert (data["format"], data["examples"], data["ok"]) == ("bedrock", 500, True)
    assert data["training_price_per_million"] == "4"

    (project / "mine.toml").write_text(
        '[models."haiku-eu"]\nprovider = "anthropic-bedrock"\nexample_limit = 32000\n'
        'training = 6.5\nsource = "our quote"\n',
        encoding="utf-8",
    )
    code, out, _ = cli(capsys, "finetune", "check", bedrock, "--model", "haiku-eu",
                       "--training-table", "mine.toml", "--epochs", "2", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert (data["model"], data["example_limit"], data["epochs"]) == ("haiku-eu", 32000, 2)
    assert data["source"] == "our quote"
    expected = Decimal("6.5") * data["charged_tokens"] / Decimal(1_000_000)
    assert Decimal(data["estimated_cost"]) == expected

    code, _, err = cli(capsys, "finetune", "check", "missing.jsonl", "--model", "gpt-4o-mini")
    assert code == 2
    assert "cannot read missing.jsonl" in err


def test_cli_roi_from_measured_runs(project, capsys):
    store = project / "runs.sqlite"
    run_id = run_offline(store, 30, wrong="long")
    code, out, err = cli(
        capsys, "finetune", "roi", "--prompt", f"{run_id}:long@1.0.0",
        "--finetuned", f"{run_id}:short@1.0.0", "--store", str(store),
        "--training-tokens", "200000", "--epochs", "4", "--base-model", "gpt-4o-mini",
        "--labelling-cost", "120", "--engineering-hours", "3", "--hourly-rate", "80",
        "--requests-per-month", "300000", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    prompt = serving_from_run(run_id, "long@1.0.0", store=store)
    finetuned = serving_from_run(run_id, "short@1.0.0", store=store)
    expected = roi(
        prompt,
        finetuned,
        TrainingCost(200_000, 4, Decimal("3.0"), Decimal(120), Decimal(240)),
        requests_per_month=300_000,
    ).to_dict()
    assert data == expected
    assert data["training"]["one_off_total"] == "362.400000"  # 2.40 + 120 + 3 h x $80
    assert data["prompt"]["source"] == f"measured in run {run_id} over 30 results"

    code, out, err = cli(
        capsys, "finetune", "roi", "--prompt", f"{run_id}:long@1.0.0",
        "--finetuned", f"{run_id}:short@1.0.0", "--store", str(store),
        "--training-tokens", "200000", "--epochs", "3", "--requests-per-month", "300000",
    )  # fmt: skip
    assert code == 0, err
    assert "not computable: the training price (give --training-price) unknown" in out
    assert "break-even never, or not computable" in out

    code, _, err = cli(capsys, "finetune", "roi", "--prompt", run_id,
                       "--finetuned", f"{run_id}:short@1.0.0", "--store", str(store),
                       "--training-tokens", "1", "--requests-per-month", "1")  # fmt: skip
    assert code == 2
    assert "give RUN:VARIANT" in err


def test_cli_roi_counted_from_templates_and_a_training_file(project, capsys):
    assert cli(capsys, "--templates", "tpl", "finetune", "export", "reviews.jsonl",
               "--template", "review@1.0.0", "--out", "ft")[0] == 0  # fmt: skip
    code, out, err = cli(
        capsys, "--templates", "tpl", "finetune", "roi",
        "--prompt-template", "review@1.0.0", "--prompt-model", "gpt-4o-mini",
        "--finetuned-template", "review@1.0.0", "--finetuned-model", FT_MODEL,
        "--dataset", "reviews.jsonl", "--output-tokens", "7",
        "--train-file", "ft/train.jsonl", "--base-model", "gpt-4o-mini",
        "--requests-per-month", "20000", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    report = check_file(project / "ft" / "train.jsonl", "gpt-4o-mini")
    assert data["training"]["tokens_per_epoch"] == report.billable_tokens
    assert data["training"]["epochs"] == report.epochs == default_epochs(32)
    assert data["training"]["price_per_million"] == "3.000000"
    from promptlib._repository import Registry

    template = Registry(project / "tpl").get("review@1.0.0")
    counts = [
        count_tokens(template.render(review=f"review {i}"), "gpt-4o-mini").total for i in range(40)
    ]
    assert data["prompt"]["input_tokens"] == round(statistics.fmean(counts), 1)
    assert data["prompt"]["output_tokens"] == 7
    assert data["prompt"]["source"] == "counted from 40 rendered prompts, replies of 7 tokens"
    assert data["finetuned"]["model"] == FT_MODEL
    # The same prompt at fine-tuned prices costs more: it never pays back.
    assert data["break_even_months"] is None
    assert Decimal(data["monthly_saving"]) < 0

    code, _, err = cli(capsys, "finetune", "roi", "--prompt-template", "review@1.0.0",
                       "--requests-per-month", "10", "--training-tokens", "1")  # fmt: skip
    assert code == 2
    assert "the prompt side: give --prompt RUN:VARIANT" in err
    code, _, err = cli(
        capsys, "--templates", "tpl", "finetune", "roi",
        "--prompt-template", "review@1.0.0", "--prompt-model", "gpt-4o-mini",
        "--finetuned-template", "review@1.0.0", "--finetuned-model", FT_MODEL,
        "--dataset", "reviews.jsonl", "--output-tokens", "7", "--requests-per-month", "10",
    )  # fmt: skip
    assert code == 2
    assert "the one-off cost needs the training data" in err
    code, _, err = cli(capsys, "finetune", "roi", "--prompt", "r:v", "--finetuned", "r:w",
                       "--training-tokens", "1", "--requests-per-month", "10")  # fmt: skip
    assert code == 2
    assert "no results store" in err


def test_cli_decide_writes_markdown_html_and_json(project, capsys):
    store = project / ".promptlib" / "evals.sqlite"  # the default store
    run_id = run_offline(store, 30, wrong="long")
    common = (
        "--prompt", f"{run_id}:long@1.0.0", "--finetuned", f"{run_id}:short@1.0.0",
        "--training-tokens", "100000", "--epochs", "3", "--training-price", "3",
        "--labelling-cost", "50", "--requests-per-month", "100000",
    )  # fmt: skip
    code, out, err = cli(capsys, "decide", *common, "--format", "md", "-o", "decision.md")
    assert code == 0, err
    assert out == ""
    assert "written to decision.md" in err
    markdown = (project / "decision.md").read_text(encoding="utf-8")
    assert markdown.startswith("## Prompt or fine-tune: **fine-tune**")
    assert "payback: $50.90 once" in markdown

    code, out, err = cli(capsys, "decide", *common, "--format", "json", "--store", str(store))
    assert code == 0, err
    data = json.loads(out)
    assert data["recommendation"] == "fine-tune"
    assert data["cost"]["training"]["one_off_total"] == "50.900000"
    assert data["reasons"][-1].startswith("the fine-tune is significantly better and pays back")

    code, out, _ = cli(capsys, "decide", *common, "--format", "html")
    assert code == 0
    assert "Content-Security-Policy" in out
    assert "<script" not in out

    code, out, _ = cli(capsys, "decide", *common)
    assert out.startswith("recommendation: fine-tune\n")

    code, _, err = cli(capsys, "decide", *common[:4], "--requests-per-month", "10")
    assert code == 2
    assert "the one-off cost needs the training data" in err


def test_cli_roi_accepts_the_run_variant_model_form_it_asks_for(project, capsys):
    store = project / "runs.sqlite"
    run_id = run_offline(
        store, 4, variants=(SHORT,), models=("mock:gpt-4o-mini", "mock:gpt-4o"), name="two"
    )
    code, _, err = cli(
        capsys, "finetune", "roi", "--prompt", f"{run_id}:short@1.0.0",
        "--finetuned", f"{run_id}:short@1.0.0", "--store", str(store),
        "--training-tokens", "1000", "--epochs", "3", "--requests-per-month", "10",
    )  # fmt: skip
    assert code == 2
    assert "RUN:VARIANT:MODEL" in err
    code, out, err = cli(
        capsys, "finetune", "roi", "--prompt", f"{run_id}:short@1.0.0:mock:gpt-4o",
        "--finetuned", f"{run_id}:short@1.0.0:mock:gpt-4o-mini", "--store", str(store),
        "--training-tokens", "1000", "--epochs", "3", "--requests-per-month", "10", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["prompt"]["model"] == "gpt-4o"
