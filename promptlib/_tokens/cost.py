"""What a request costs: estimated before sending, and actual from reported usage.

Prices come from the model catalog (US dollars per million tokens). A price the catalog
does not know makes the cost unknown (``Cost.known`` is False, amounts are ``None``),
never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from promptlib._errors import ConfigurationError
from promptlib._messages import Prompt
from promptlib._tokens.catalog import Catalog
from promptlib._tokens.counting import TokenCount, count_tokens

__all__ = ["Cost", "CostEstimate", "Usage", "cost_of", "estimate_cost"]

_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Usage:
    """Tokens a request used, as the provider reported them.

    ``input_tokens`` counts every input token, including those read from or written to
    the provider's prompt cache; ``cached_input_tokens`` and ``cache_write_tokens`` say how
    many of them were; ``cache_write_1h_tokens`` says how many of the writes were to the
    one-hour cache (Anthropic prices them apart). (OpenAI reports cached tokens inside
    ``prompt_tokens``; Anthropic reports them beside ``input_tokens``: adapters normalise
    both to this form.)
    """

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )


@dataclass(frozen=True)
class Cost:
    """A cost in US dollars, or unknown.

    Attributes:
        model: the model priced.
        known: False when a price needed was not in the catalog; amounts are then ``None``.
        input, output, total: dollars (``Decimal``), or ``None`` when unknown.
        missing: the prices the catalog lacks, e.g. ``("cached_input",)``.
        source: where the prices come from, and their date.
    """

    model: str
    known: bool
    input: Decimal | None
    output: Decimal | None
    total: Decimal | None
    missing: tuple[str, ...] = ()
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "model": self.model,
            "known": self.known,
            "currency": "USD",
            "input": money(self.input),
            "output": money(self.output),
            "total": money(self.total),
            "missing": list(self.missing),
            "source": self.source,
        }


_Priced = list[tuple[str, "Decimal | None", int]]  # (price field, its price, tokens)


def _dollars(priced: _Priced) -> Decimal | None:
    total = _ZERO
    for _, price, tokens in priced:
        if tokens:
            if price is None:
                return None
            total += price * tokens / _MILLION
    return total


def cost_of(
    usage: Usage, model: str, *, batch: bool = False, catalog: Catalog | None = None
) -> Cost:
    """The cost of a request that used ``usage`` on ``model``.

    Cached input is billed at the cached-input price and cache writes at the cache-write
    price (one-hour writes at ``cache_write_1h``); with ``batch=True``, everything at the
    batch prices (``batch_cached_input``, ``batch_cache_write``, ``batch_cache_write_1h``).
    A price the catalog lacks for tokens that were used makes the cost unknown.
    """
    info = (catalog or Catalog.default()).get(model)
    inputs: _Priced
    cached, written = usage.cached_input_tokens, usage.cache_write_tokens
    hour = min(usage.cache_write_1h_tokens, written)
    if batch:
        inputs = [
            ("batch_input", info.batch_input, usage.input_tokens - cached - written),
            ("batch_cached_input", info.batch_cached_input, cached),
            ("batch_cache_write", info.batch_cache_write, written - hour),
            ("batch_cache_write_1h", info.batch_cache_write_1h, hour),
        ]
        outputs: _Priced = [("batch_output", info.batch_output, usage.output_tokens)]
    else:
        inputs = [
            ("input", info.input, usage.input_tokens - cached - written),
            ("cached_input", info.cached_input, cached),
            ("cache_write", info.cache_write, written - hour),
            ("cache_write_1h", info.cache_write_1h, hour),
        ]
        outputs = [("output", info.output, usage.output_tokens)]
    input_cost, output_cost = _dollars(inputs), _dollars(outputs)
    total = None if input_cost is None or output_cost is None else input_cost + output_cost
    missing = tuple(field for field, price, tokens in inputs + outputs if tokens and price is None)
    source = f"{info.source} ({info.as_of})" if info.as_of else info.source
    return Cost(info.name, total is not None, input_cost, output_cost, total, missing, source)


@dataclass(frozen=True)
class CostEstimate:
    """What a prompt is expected to cost, per request and over many.

    Attributes:
        tokens: the input token count (with whether it is exact).
        output_tokens: the output tokens assumed.
        per_request: the cost of one request.
        requests: how many requests ``total`` covers.
        total: ``per_request`` times ``requests`` (``None`` when unknown).
    """

    tokens: TokenCount
    output_tokens: int
    per_request: Cost
    requests: int
    total: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.per_request.model,
            "input_tokens": self.tokens.total,
            "input_tokens_exact": self.tokens.exact,
            "count_method": self.tokens.method,
            "output_tokens": self.output_tokens,
            "per_request": self.per_request.to_dict(),
            "requests": self.requests,
            "total": None if self.total is None else str(self.total),
        }


def estimate_cost(
    prompt: Prompt[Any],
    model: str | None = None,
    *,
    output_tokens: int,
    requests: int = 1,
    batch: bool = False,
    client: Any = None,
    catalog: Catalog | None = None,
) -> CostEstimate:
    """Estimate what sending ``prompt`` costs, assuming ``output_tokens`` in each reply.

    Args:
        prompt: the rendered prompt.
        model: the model (default: ``prompt.model``).
        output_tokens: the expected length of each reply.
        requests: how many requests to price (e.g. per month).
        batch: price with the provider's batch prices.
        client: an Anthropic client, for exact input counts on Anthropic models.
        catalog: the model catalog (default: promptlib's own).

    Raises:
        ConfigurationError: ``output_tokens`` or ``requests`` is negative (or not a whole
            number), or the model has no price.
    """
    for name, value in (("output_tokens", output_tokens), ("requests", requests)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(
                f"{name} is a whole number of zero or more (--{name.replace('_', '-')} on "
                f"the command line), got {value!r}"
            )
    tokens = count_tokens(prompt, model, client=client, catalog=catalog)
    usage = Usage(input_tokens=tokens.total, output_tokens=output_tokens)
    cost = cost_of(usage, model or tokens.model, batch=batch, catalog=catalog)
    total = None if cost.total is None else cost.total * requests
    return CostEstimate(tokens, output_tokens, cost, requests, total)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Cost, CostEstimate, Usage, cost_of, estimate_cost)
