"""The rows an evaluation stores: which item and prompt a row is for, and failed rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promptlib.evals._store import ResultRow

if TYPE_CHECKING:
    from promptlib._messages import Prompt
    from promptlib._tokens.cost import Usage
    from promptlib.evals._dataset import Case
    from promptlib.evals._experiment import Variant

__all__ = ["Item", "failed_row", "row_identity"]


@dataclass(frozen=True)
class Item:
    """One unit of an evaluation's work: a variant on a model for one case, one repeat."""

    variant: Variant
    model: str
    case: Case
    repeat: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.variant.label, self.model, self.case.id, self.repeat)


def row_identity(run_id: str, item: Item, prompt: Prompt[Any] | None) -> dict[str, Any]:
    """The fields of a result row that say which item and prompt it is for."""
    return {
        "run_id": run_id,
        "variant": item.variant.label,
        "model": item.model,
        "case_id": item.case.id,
        "repeat": item.repeat,
        "template": item.variant.template.label,
        "template_hash": item.variant.template_hash,
        "params": dict(prompt.params) if prompt is not None else {},
        "prompt_hash": prompt.hash if prompt is not None else None,
    }


def failed_row(
    common: dict[str, Any],
    error: str,
    usage: Usage | None,
    text: str | None,
    attempts: int,
    model: str | None = None,
    latency: float | None = None,
    *,
    batch: bool = False,
) -> ResultRow:
    """The row of an item that got no scored answer; the tokens it used are priced (at
    batch prices for a batched run)."""
    from promptlib._tokens.cost import Usage

    spent = usage if isinstance(usage, Usage) else Usage(0, 0)
    cost = None
    if model is not None and (spent.input_tokens or spent.output_tokens):
        from promptlib._providers.completion import price

        total = price(spent, model, None, batch=batch).total
        cost = None if total is None else str(total)
    return ResultRow(
        **common,
        text=text,
        output=None,
        scores={},
        input_tokens=spent.input_tokens,
        output_tokens=spent.output_tokens,
        cached_input_tokens=spent.cached_input_tokens,
        cost=cost,
        latency=latency,
        attempts=attempts,
        error=error,
    )
