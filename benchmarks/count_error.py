"""How far ``count_tokens`` is from the input tokens the providers reported, on real requests.

Every record of ``tests/data/token_ground_truth/`` (see its ``SOURCES.md``) is a request an
application sent, with the input tokens the API reported. Each one whose model is in
promptlib's catalog is imported into a Prompt (``tests/providers/wire_import.py``), counted
with ``count_tokens(prompt, model)`` for the record's model, and compared:

(a) counts labelled ``exact`` that differ from the reported number (the bar is zero);
(b) the relative error ``(counted - reported) / reported`` of the estimates, per provider
    and per feature group: n, median and 90th percentile (nearest rank) of its absolute
    value, the largest, and the signed median (negative: the estimate is low).

The reference for an Anthropic record is ``input_tokens + cache_creation_input_tokens +
cache_read_input_tokens``: with prompt caching the API's ``input_tokens`` holds only the
uncached tail (4 tokens of a 9,000-token prompt). OpenAI's ``prompt_tokens`` already
includes its cached tokens. Feature groups overlap (a request with tools and tool history is
in both); Anthropic records with server tools (which the API may run several times per
request) are reported in their own group only. Offline and deterministic.

    python benchmarks/count_error.py
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from promptlib import (  # noqa: E402
    Catalog,
    DocumentPart,
    ImagePart,
    NativePart,
    NativeTool,
    Prompt,
    ToolCall,
    ToolResult,
    count_tokens,
)
from tests.providers.wire_import import anthropic_prompt, openai_prompt  # noqa: E402

DATA = ROOT / "tests" / "data" / "token_ground_truth"
FILES = {
    "openai": ("openai_chat_prompt_tokens.jsonl", openai_prompt),
    "anthropic": ("anthropic_input_tokens.jsonl", anthropic_prompt),
}
# Pass-through request fields that add no input tokens (the rest: thinking, output_config,
# response_format, ... form the group "pass-through fields").
_SETTINGS = frozenset(
    {"stream", "stream_options", "reasoning_effort", "n", "seed", "user", "metadata", "store",
     "service_tier", "top_k", "logprobs", "top_logprobs", "logit_bias", "verbosity"}
)  # fmt: skip
GROUPS = (
    "all",
    "text only",
    "images",
    "tools",
    "tool history",
    "documents",
    "native blocks",
    "output schema",
    "pass-through fields",
    "server tools",
)


@dataclass
class Result:
    id: str
    provider: str
    model: str
    counted: int
    reported: int
    exact: bool
    method: str
    groups: tuple[str, ...]
    cached: bool = False

    @property
    def error(self) -> float:
        return (self.counted - self.reported) / self.reported


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # model -> record ids
    failed: list[tuple[str, str]] = field(default_factory=list)  # (record id, error)


def records(provider: str) -> Iterator[dict[str, Any]]:
    name, _ = FILES[provider]
    with (DATA / name).open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def reference(record: dict[str, Any]) -> tuple[int, bool]:
    """The prompt's input tokens as reported, and whether cached tokens are part of it."""
    usage = record.get("usage") or {}
    cached = 0
    if record["provider"] == "anthropic":
        cached = (usage.get("cache_read_input_tokens") or 0) + (
            usage.get("cache_creation_input_tokens") or 0
        )
    return record["reported_input_tokens"] + cached, cached > 0


def _parts(prompt: Prompt[Any]) -> Iterator[Any]:
    for message in prompt.messages:
        for part in message.content:
            yield part
            if isinstance(part, ToolResult) and not isinstance(part.content, str):
                yield from part.content


def groups(prompt: Prompt[Any], record: dict[str, Any]) -> tuple[str, ...]:
    """The feature groups a record belongs to (besides "all")."""
    if record.get("uses_server_tools") and record["provider"] == "anthropic":
        return ("server tools",)
    parts = list(_parts(prompt))
    extra = prompt.params.get("extra") or {}
    found = []
    if any(isinstance(p, ImagePart) for p in parts):
        found.append("images")
    if prompt.tools or prompt.tool_choice is not None or "tools" in extra or "functions" in extra:
        found.append("tools")
    if any(isinstance(p, (ToolCall, ToolResult)) for p in parts):
        found.append("tool history")
    if any(isinstance(p, DocumentPart) for p in parts):
        found.append("documents")
    if any(isinstance(p, NativePart) for p in parts) or any(
        isinstance(t, NativeTool) for t in prompt.tools
    ):
        found.append("native blocks")
    if prompt.output is not None:
        found.append("output schema")
    if any(k not in _SETTINGS for k in extra):
        found.append("pass-through fields")
    return tuple(found) or ("text only",)


def run(catalog: Catalog | None = None) -> Run:
    catalog = catalog or Catalog.default()
    out = Run()
    for provider, (_, to_prompt) in FILES.items():
        for record in records(provider):
            model = record["model_requested"]
            if model not in catalog:
                out.skipped.setdefault(model, []).append(record["id"])
                continue
            try:
                prompt = to_prompt(record["request"])
                count = count_tokens(prompt, model, catalog=catalog)
            except Exception as error:  # reported, not raised: every record is measured
                out.failed.append((record["id"], f"{type(error).__name__}: {error}"))
                continue
            reported, cached = reference(record)
            out.results.append(
                Result(
                    id=record["id"],
                    provider=provider,
                    model=model,
                    counted=count.total,
                    reported=reported,
                    exact=count.exact,
                    method=count.method,
                    groups=("all", *groups(prompt, record)),
                    cached=cached,
                )
            )
    return out


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def stats(errors: list[float]) -> str:
    if not errors:
        return "| 0 | | | | |"
    size = [abs(e) for e in errors]
    return (
        f"| {len(errors)} | {statistics.median(size):.1%} | {nearest_rank(size, 0.9):.1%} "
        f"| {max(size):.1%} | {statistics.median(errors):+.1%} |"
    )


def table(results: list[Result]) -> list[str]:
    lines = [
        "| provider | group | records | exact: n (differ) | estimates: n | median abs. error "
        "| p90 | max | signed median |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for provider in FILES:
        own = [r for r in results if r.provider == provider]
        for group in GROUPS:
            members = [r for r in own if group in r.groups]
            if group == "all" and provider == "anthropic":
                members = [r for r in members if "server tools" not in r.groups]
                group = "all (without server tools)"
            if not members:
                continue
            exact = [r for r in members if r.exact]
            differ = sum(r.counted != r.reported for r in exact)
            estimates = [r.error for r in members if not r.exact]
            lines.append(
                f"| {provider} | {group} | {len(members)} | {len(exact)} ({differ}) "
                + stats(estimates)
            )
    return lines


def main() -> None:
    out = run()
    print("# count_tokens against provider-reported input tokens\n")
    print(f"python benchmarks/count_error.py  (Python {platform.python_version()})\n")
    counted = len(out.results)
    skipped = sum(map(len, out.skipped.values()))
    print(f"{counted} records counted, {skipped} skipped (model not in the catalog), ", end="")
    print(f"{len(out.failed)} failed.\n")
    for model, ids in sorted(out.skipped.items()):
        print(f"- skipped {model}: {', '.join(ids)}")
    for record_id, error in out.failed:
        print(f"- FAILED {record_id}: {error}")

    mismatches = [r for r in out.results if r.exact and r.counted != r.reported]
    print(f"\n## (a) counts labelled exact that differ from the reported number: {len(mismatches)}")
    print(f"(of {sum(r.exact for r in out.results)} labelled exact)\n")
    if mismatches:
        print("| id | model | counted | reported | method |\n|---|---|---|---|---|")
        for r in mismatches:
            print(f"| {r.id} | {r.model} | {r.counted} | {r.reported} | {r.method} |")

    print("\n## (b) error of the estimates (counted - reported) / reported\n")
    print("\n".join(table(out.results)))
    cached = [r.id for r in out.results if r.cached]
    print(
        f"\nAnthropic references including cache reads/writes ({len(cached)}): {', '.join(cached)}"
    )

    print("\n## largest estimate errors\n")
    print("| id | model | counted | reported | error | groups |\n|---|---|---|---|---|---|")
    worst = sorted((r for r in out.results if not r.exact), key=lambda r: -abs(r.error))
    for r in worst[:15]:
        print(
            f"| {r.id} | {r.model} | {r.counted} | {r.reported} | {r.error:+.1%} "
            f"| {', '.join(r.groups[1:])} |"
        )


if __name__ == "__main__":
    main()
