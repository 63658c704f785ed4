"""A model missing from the catalog costs what a known one does: its miss is remembered."""

from __future__ import annotations

import difflib

import pytest

from promptlib._errors import ConfigurationError
from promptlib._providers.completion import price
from promptlib._tokens.catalog import Catalog
from promptlib._tokens.cost import Usage


def test_a_miss_builds_its_suggestion_once(monkeypatch):
    catalog = Catalog([Catalog.default().get(name) for name in Catalog.default().names()])
    calls = []
    real = difflib.get_close_matches

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    for _ in range(50):
        with pytest.raises(ConfigurationError, match=r"unknown model 'gpt-4o-minny'.*gpt-4o-mini"):
            catalog.get("gpt-4o-minny")
    assert calls == ["gpt-4o-minny"]


def test_pricing_a_reply_from_an_unknown_model_is_unknown_and_cheap():
    cost = price(Usage(100, 10), "my-local-llama", None)
    assert (cost.known, cost.missing) == (False, ("model",))


def test_a_fine_tune_of_a_base_without_ft_prices_has_no_batch_prices_either():
    info = Catalog.default().get("ft:gpt-5-mini-2025-08-07:org::x")
    assert info.batch_cached_input is None
    assert info.batch_input is None
    assert info.input is None
