"""``count_tokens`` on real requests, against the input tokens the providers reported.

Every record of ``tests/data/token_ground_truth/`` (see its ``SOURCES.md``) is imported into
a Prompt (``tests/providers/wire_import.py``) and counted for the record's model:

(a) a count labelled exact equals the reported number, on every record but the two whose
    data is defective (``DATA_DEFECTS``: the recorded request is not the one that was
    counted); those two must still differ by exactly the recorded amounts;
(b) every record counts without an exception (a record whose model is not in the catalog
    is counted with a stand-in model of its provider, so that its prompt is still counted).

The estimates' error is measured by ``benchmarks/count_error.py``, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptlib import Catalog, TokenCount, count_tokens
from tests.providers.wire_import import anthropic_prompt, openai_prompt

DATA = Path(__file__).parents[1] / "data" / "token_ground_truth"
IMPORT = {"openai": openai_prompt, "anthropic": anthropic_prompt}
FILES = ("openai_chat_prompt_tokens.jsonl", "anthropic_input_tokens.jsonl")
CATALOG = Catalog.default()

# Models of records that the catalog does not know: left out of (a), counted with a
# stand-in in (b).
MISSING_MODELS: set[str] = set()  # every model of the records is in the catalog
STAND_IN = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5"}

# Records whose stored request is not what the provider counted: (counted, reported, why).
DATA_DEFECTS: dict[str, tuple[int, int, str]] = {
    "openai-0007": (
        129,
        127,
        "the same request as openai-0000 (reported 129), from an older run of OpenAI's "
        "cookbook notebook, when the undated alias gpt-3.5-turbo meant gpt-3.5-turbo-0301 "
        "(4 tokens per message, -1 per name): counted as gpt-3.5-turbo-0301 it is 127, "
        "exactly; nothing in the request says which snapshot the alias meant",
    ),
    "openai-0123": (
        3171,
        3152,
        "the stored request is not the one sent: pydantic-ai commit 7931d244d (2026-07-13) "
        "edited a comment line of the YAML file inside the cassette's request body after "
        "the response was recorded; with the original line restored the count is 3152, "
        "exactly",
    ),
}


def _records() -> list[dict[str, Any]]:
    found = []
    for name in FILES:
        with (DATA / name).open(encoding="utf-8") as lines:
            found += [json.loads(line) for line in lines if line.strip()]
    return found


RECORDS = _records()


def _reported(record: dict[str, Any]) -> int:
    """The prompt's input tokens as reported (Anthropic's input_tokens leave out the cache)."""
    usage = record.get("usage") or {}
    cached = 0
    if record["provider"] == "anthropic":
        cached = (usage.get("cache_read_input_tokens") or 0) + (
            usage.get("cache_creation_input_tokens") or 0
        )
    return record["reported_input_tokens"] + cached


def _count(record: dict[str, Any], model: str) -> TokenCount:
    prompt = IMPORT[record["provider"]](record["request"])
    return count_tokens(prompt, model, catalog=CATALOG)


def _exact_mismatches() -> dict[str, tuple[int, int]]:
    found = {}
    for record in RECORDS:
        model = record["model_requested"]
        if model not in CATALOG:
            continue
        count = _count(record, model)
        reported = _reported(record)
        if count.exact and count.total != reported:
            found[record["id"]] = (count.total, reported)
    return found


def test_data_is_there() -> None:
    assert len(RECORDS) == 465
    assert {r["provider"] for r in RECORDS} == set(IMPORT)


def test_missing_models_are_the_listed_ones() -> None:
    missing = {r["model_requested"] for r in RECORDS if r["model_requested"] not in CATALOG}
    assert missing == MISSING_MODELS


def test_exact_counts_equal_the_reported_number() -> None:
    found = _exact_mismatches()
    wrong = {k: v for k, v in found.items() if k not in DATA_DEFECTS}
    assert wrong == {}, f"counts labelled exact that differ from the reported number: {wrong}"
    # The defective records differ by what their defect explains, and nothing else.
    assert found == {k: v[:2] for k, v in DATA_DEFECTS.items()}


def test_every_record_counts() -> None:
    failed = []
    for record in RECORDS:
        model = record["model_requested"]
        if model not in CATALOG:
            model = STAND_IN[record["provider"]]
        try:
            count = _count(record, model)
        except Exception as error:
            failed.append(f"{record['id']} ({model}): {type(error).__name__}: {error}")
            continue
        if count.total <= 0:
            failed.append(f"{record['id']} ({model}): {count.total} tokens")
    assert failed == []
