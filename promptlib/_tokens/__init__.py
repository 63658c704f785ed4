"""Token counting, context budgets, the model catalog and cost."""

from promptlib._tokens.budget import Fitted, fit
from promptlib._tokens.catalog import Catalog, ModelInfo
from promptlib._tokens.cost import Cost, CostEstimate, Usage, cost_of, estimate_cost
from promptlib._tokens.counting import (
    BlockCount,
    TokenCount,
    acount_tokens,
    count_messages,
    count_tokens,
)
from promptlib._tokens.encodings import get_encoding

__all__ = [
    "BlockCount",
    "Catalog",
    "Cost",
    "CostEstimate",
    "Fitted",
    "ModelInfo",
    "TokenCount",
    "Usage",
    "acount_tokens",
    "cost_of",
    "count_messages",
    "count_tokens",
    "estimate_cost",
    "fit",
    "get_encoding",
]
