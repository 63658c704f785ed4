from __future__ import annotations

from decimal import Decimal

import pytest

from promptlib import Catalog, ModelInfo, Usage, cost_of, estimate_cost


def test_cost_from_reported_usage_with_cached_input():
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens.
    usage = Usage(input_tokens=10_000, output_tokens=1_000, cached_input_tokens=4_000)
    cost = cost_of(usage, "gpt-4o-2024-08-06")
    assert cost.known
    assert cost.input == Decimal("0.015") + Decimal("0.005")
    assert cost.output == Decimal("0.01")
    assert cost.total == Decimal("0.03")
    assert "2026-11-12" in cost.source


def test_anthropic_cache_writes_and_reads():
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output.
    usage = Usage(1_000_000, 0, cached_input_tokens=500_000, cache_write_tokens=100_000)
    assert cost_of(usage, "claude-sonnet-4-5").total == Decimal("1.2") + Decimal("0.15") + Decimal(
        "0.375"
    )


def test_batch_prices():
    assert cost_of(Usage(1_000_000, 1_000_000), "gpt-4o-mini", batch=True).total == Decimal("0.375")


def test_unknown_prices_are_unknown_never_zero():
    catalog = Catalog.default().with_models(
        ModelInfo(name="local-llama", provider="openai", encoding="o200k_base")
    )
    cost = cost_of(Usage(100, 10), "local-llama", catalog=catalog)
    assert not cost.known
    assert cost.total is None
    assert cost.missing == ("input", "output")
    assert cost.to_dict()["total"] is None
    # A cached-input price the catalog lacks makes the total unknown too.
    gpt4 = cost_of(Usage(100, 10, cached_input_tokens=50), "gpt-4")
    assert gpt4.total is None
    assert gpt4.missing == ("cached_input",)
    # No tokens of a kind: its price is not needed.
    assert cost_of(Usage(100, 10), "gpt-4").known


def test_estimate_cost_for_a_prompt(triage):
    prompt = triage.render(company="ACME", ticket="Refund me twice.")
    estimate = estimate_cost(prompt, output_tokens=50, requests=10_000)
    assert estimate.per_request.model == "gpt-4o-mini"  # the template's default model
    per_request = (
        Decimal(estimate.tokens.total) * Decimal("0.15") / 10**6 + 50 * Decimal("0.6") / 10**6
    )
    assert estimate.per_request.total == per_request
    assert estimate.total == per_request * 10_000
    assert estimate.to_dict()["input_tokens_exact"] is False


def test_user_catalog_files_extend_and_override(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."gpt-4o"]\nprovider = "openai"\nencoding = "o200k_base"\ninput = 2.0\n'
        'output = 8.0\n\n[models."my-model"]\nprovider = "openai"\nencoding = "cl100k_base"\n'
    )
    catalog = Catalog.default().extend(path)
    assert catalog.get("gpt-4o").input == Decimal("2.0")
    assert catalog.get("my-model").encoding == "cl100k_base"
    assert catalog.get("gpt-4o-mini").input == Decimal("0.15")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models."x"]\nencoding = "o200k_base"\n', "needs a provider"),
        ('[models."x"]\nprovider = "openai"\nprise = 1\n', "unknown field 'prise'"),
        ('[models."x"]\nprovider = "openai"\ninput = "cheap"\n', "must be a number"),
        ("[models\n", "not valid TOML"),
    ],
)
def test_bad_catalog_files_are_clear_errors(tmp_path, text, message):
    from promptlib import ConfigurationError

    path = tmp_path / "models.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        Catalog.from_file(path)
