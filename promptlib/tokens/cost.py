"""What a request costs: estimated before sending, and actual from reported usage.

Prices come from the model catalog (US dollars per million tokens). A price the catalog
does not know makes the cost unknown (``Cost.known`` is False, amounts are ``None``),
never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from promptlib.messages import Prompt
from promptlib.tokens.catalog import Catalog, ModelInfo
from promptlib.tokens.counting import TokenCount, count_tokens

__all__ = ["Cost", "CostEstimate", "Usage", "cost_of", "estimate_cost"]

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Usage:
    """Tokens a request used, as the provider reported them.

    ``input_tokens`` counts every input token, including those read from or written to
    the provider's prompt cache; ``cached_input_tokens`` and ``cache_write_tokens`` say how
    many of them were. (OpenAI reports cached tokens inside ``prompt_tokens``; Anthropic
    reports them beside ``input_tokens``: adapters normalise both to this form.)
    """

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
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


def _price(info: ModelInfo, field: str, tokens: int, missing: list[str]) -> Decimal | None:
    if tokens == 0:
        return Decimal(0)
    price: Decimal | None = getattr(info, field)
    if price is None:
        missing.append(field)
        return None
    return price * tokens / _MILLION


def _sum(values: list[Decimal | None]) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


def cost_of(
    usage: Usage, model: str, *, batch: bool = False, catalog: Catalog | None = None
) -> Cost:
    """The cost of a request that used ``usage`` on ``model``.

    Cached input is billed at the cached-input price and cache writes at the cache-write
    price where the catalog lists them; with ``batch=True``, at the batch prices.
    """
    info = (catalog or Catalog.default()).get(model)
    missing: list[str] = []
    if batch:
        input_cost = _price(info, "batch_input", usage.input_tokens, missing)
        output_cost = _price(info, "batch_output", usage.output_tokens, missing)
    else:
        plain = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
        input_cost = _sum(
            [
                _price(info, "input", plain, missing),
                _price(info, "cached_input", usage.cached_input_tokens, missing),
                _price(info, "cache_write", usage.cache_write_tokens, missing),
            ]
        )
        output_cost = _price(info, "output", usage.output_tokens, missing)
    total = _sum([input_cost, output_cost])
    source = f"{info.source} ({info.as_of})" if info.as_of else info.source
    return Cost(
        info.name, total is not None, input_cost, output_cost, total, tuple(missing), source
    )


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
    """
    tokens = count_tokens(prompt, model, client=client, catalog=catalog)
    usage = Usage(input_tokens=tokens.total, output_tokens=output_tokens)
    cost = cost_of(usage, model or tokens.model, batch=batch, catalog=catalog)
    total = None if cost.total is None else cost.total * requests
    return CostEstimate(tokens, output_tokens, cost, requests, total)
