"""The ``run`` subcommand: render, send, print the result with usage and cost."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel

from promptlib._cli.config import catalog_file, registry
from promptlib._cli.variables import parse_variables
from promptlib._errors import ConfigurationError
from promptlib._providers.registry import get_provider
from promptlib._terminal import terminal_safe
from promptlib._tokens import Catalog

__all__ = ["cmd_run"]


def _jsonable(output: Any) -> Any:
    return output.model_dump(mode="json") if isinstance(output, BaseModel) else output


def cmd_run(args: argparse.Namespace) -> int:
    extra = catalog_file(args.catalog)
    catalog = Catalog.default().extend(extra) if extra else Catalog.default()
    prompt = registry(args.templates).render(args.ref, **parse_variables(args.var))
    target = args.model or prompt.model
    if not target:
        raise ConfigurationError(
            f"{args.ref} sets no model: pass --model, e.g. --model openai:gpt-4o-mini"
        )
    if args.base_url:
        from promptlib._providers.openai import OpenAIProvider

        prefix = target.partition(":")[0] if ":" in target else ""
        if prefix and prefix != "openai":
            raise ConfigurationError(
                f"--base-url is for OpenAI-compatible servers, but --model {target} names the "
                f"{prefix!r} provider; give --model openai:MODEL or just the server's model name"
            )

        provider: Any = OpenAIProvider(base_url=args.base_url, catalog=catalog)
        model = target.split(":", 1)[1] if target.startswith("openai:") else target
    else:
        provider, model = get_provider(target, catalog=catalog)
        provider.catalog = catalog
    stream = args.stream if args.stream is not None else sys.stdout.isatty() and not args.json
    if stream and args.json:
        raise ConfigurationError("--stream prints text as it arrives; leave it out with --json")
    if stream:
        streaming = provider.stream(prompt, model)
        for delta in streaming:
            _write(delta)
            sys.stdout.flush()
        completion = streaming.completion
        sys.stdout.write("\n")
    else:
        completion = provider.complete(prompt, model)
    cost = completion.cost
    if args.json:
        data = {
            "name": completion.template,
            "version": completion.version,
            "template_hash": completion.template_hash,
            "provider": completion.provider,
            "model": completion.model,
            "text": completion.text,
            "output": _jsonable(completion.output),
            "reasoning": completion.reasoning,
            "usage": {
                "input_tokens": completion.usage.input_tokens,
                "output_tokens": completion.usage.output_tokens,
                "cached_input_tokens": completion.usage.cached_input_tokens,
                "cache_write_tokens": completion.usage.cache_write_tokens,
            },
            "cost": cost.to_dict(),
            "latency": round(completion.latency, 4),
            "attempts": completion.attempts,
            "request_id": completion.request_id,
            "finish_reason": completion.finish_reason,
            "tool_calls": [call.to_dict() for call in completion.tool_calls],
        }
        _write(json.dumps(data, indent=2, ensure_ascii=False) + "\n", json_text=True)
        return 0
    output = completion.output
    shown = (
        json.dumps(_jsonable(output), ensure_ascii=False)
        if isinstance(output, (BaseModel, dict))
        else str(output)
    )
    if completion.tool_calls:  # the model asks for tools: show the calls, not an output
        calls = "\n".join(
            f"tool call {c.id}: {c.name}({c.arguments})" for c in completion.tool_calls
        )
        shown = f"{completion.text}\n{calls}" if completion.text else calls
    usage = completion.usage
    price = f"${cost.total}" if cost.total is not None else "unknown"
    model_name = f"{completion.provider}:{completion.model}"
    where = f"{completion.template}@{completion.version} on {model_name}"
    _write(
        ("" if stream and shown == completion.text else f"{'output: ' if stream else ''}{shown}\n")
        + "\n"
        + f"{where}: "
        f"{usage.input_tokens:,} in ({usage.cached_input_tokens:,} cached), "
        f"{usage.output_tokens:,} out, cost {price}, {completion.latency:.2f}s, "
        f"{completion.attempts} attempt(s), request {completion.request_id or '-'}\n"
    )
    return 0


def _write(text: str, *, json_text: bool = False) -> None:
    # A model's reply may carry escape sequences; a terminal must show them, not act on them.
    sys.stdout.write(terminal_safe(text, json_text=json_text) if sys.stdout.isatty() else text)
