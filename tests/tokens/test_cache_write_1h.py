"""One-hour cache writes are priced at their own rate (Anthropic charges them more)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from promptlib._providers.anthropic import _usage
from promptlib._tokens.cost import Usage, cost_of


def test_the_adapter_reads_one_hour_writes_from_the_usage():
    usage = _usage(
        SimpleNamespace(
            input_tokens=10,
            output_tokens=5,
            cache_read_input_tokens=100,
            cache_creation_input_tokens=300,
            cache_creation=SimpleNamespace(
                ephemeral_5m_input_tokens=100, ephemeral_1h_input_tokens=200
            ),
        )
    )
    assert usage == Usage(
        410, 5, cached_input_tokens=100, cache_write_tokens=300, cache_write_1h_tokens=200
    )


def test_one_hour_writes_cost_their_own_price():
    usage = Usage(1_000_000, 0, cache_write_tokens=1_000_000, cache_write_1h_tokens=400_000)
    cost = cost_of(usage, "claude-haiku-4-5")
    # 600k five-minute writes at $1.25/M and 400k one-hour writes at $2/M
    assert cost.total == Decimal("0.75") + Decimal("0.8")


def test_one_hour_writes_in_a_batch_have_no_listed_price_so_the_cost_is_unknown():
    usage = Usage(1_000, 0, cache_write_tokens=500, cache_write_1h_tokens=500)
    cost = cost_of(usage, "claude-haiku-4-5", batch=True)
    assert (cost.known, cost.missing) == (False, ("batch_cache_write_1h",))


def test_usages_add_their_one_hour_writes():
    assert (Usage(1, 1, 0, 2, 1) + Usage(1, 1, 0, 3, 2)).cache_write_1h_tokens == 3
