"""Per-call overhead of promptlib's adapters over the raw SDK call, on a local server.

A minimal HTTP server (its own process, 127.0.0.1) answers every request with a recorded
completion. Each side sends the same request: the raw SDK call, and promptlib's
``complete`` (which also builds the request, parses and validates the reply, and prices
it). Sequential: median per-call time. Concurrent: 64 requests in flight with the async
clients, as requests per second over rounds that alternate the two sides.

    python benchmarks/bench_providers.py
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BODIES = {
    "openai": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1727346143,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": '{"priority":"urgent"}',
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 258, "completion_tokens": 7, "total_tokens": 265},
    },
    "anthropic": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "TicketPriority",
                "input": {"priority": "urgent"},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 300, "output_tokens": 20},
    },
}


def serve(port_queue: multiprocessing.Queue, provider: str) -> None:  # type: ignore[type-arg]
    body = json.dumps(BODIES[provider]).encode()
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: req_1\r\n"
        b"request-id: req_1\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                headers = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def paired_ms(raw, lib, n: int = 600) -> tuple[float, float, float]:
    """Median ms per call of each side, and the median of per-pair differences: the two
    calls run back to back, in alternating order, so drift and order hit both alike."""
    for _ in range(20):
        raw()
        lib()
    raws, libs = [], []
    for i in range(n):
        for side in (raw, lib) if i % 2 else (lib, raw):
            start = time.perf_counter()
            side()
            (raws if side is raw else libs).append(time.perf_counter() - start)
    diffs = [b - a for a, b in zip(raws, libs, strict=True)]
    return tuple(statistics.median(x) * 1000 for x in (raws, libs, diffs))  # type: ignore[return-value]


async def throughput(
    raw: Callable[[], Awaitable[Any]],
    lib: Callable[[], Awaitable[Any]],
    in_flight: int = 64,
    rounds: int = 30,
) -> tuple[float, float, float]:
    """Requests per second of each side with ``in_flight`` concurrent requests, and the
    median ratio lib/raw over rounds that alternate the sides (drift hits both alike)."""

    async def one_round(fn: Callable[[], Awaitable[Any]]) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(fn() for _ in range(in_flight)))
        return in_flight / (time.perf_counter() - start)

    await one_round(raw)  # open the pools' connections
    await one_round(lib)
    raws, libs = [], []
    for _ in range(rounds):
        raws.append(await one_round(raw))
        libs.append(await one_round(lib))
    ratio = statistics.median(b / a for a, b in zip(raws, libs, strict=True))
    return statistics.median(raws), statistics.median(libs), ratio


def bench(provider_name: str, url: str) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from promptlib import AnthropicProvider, OpenAIProvider, Registry

    prompt = Registry(Path(__file__).parents[1] / "templates").render(
        "ticket-priority@production", ticket="The whole team is locked out."
    )
    if provider_name == "openai":
        import openai

        client = openai.OpenAI(api_key="k", base_url=url, max_retries=0)
        adapter = OpenAIProvider(client)
        model = "gpt-4o-mini"
        request = adapter.build_request(prompt, model)
        raw = lambda: client.chat.completions.create(**request)  # noqa: E731

        def async_sides() -> tuple[Any, Any, Any]:
            aclient = openai.AsyncOpenAI(api_key="k", base_url=url, max_retries=0)
            aadapter = OpenAIProvider(async_client=aclient)
            return (
                aclient,
                lambda: aclient.chat.completions.create(**request),
                lambda: aadapter.acomplete(prompt, model),
            )
    else:
        import anthropic

        client = anthropic.Anthropic(api_key="k", base_url=url, max_retries=0)
        adapter = AnthropicProvider(client)
        model = "claude-haiku-4-5"
        request = adapter.build_request(prompt, model)
        raw = lambda: client.messages.create(**request)  # noqa: E731

        def async_sides() -> tuple[Any, Any, Any]:
            aclient = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0)
            aadapter = AnthropicProvider(async_client=aclient)
            return (
                aclient,
                lambda: aclient.messages.create(**request),
                lambda: aadapter.acomplete(prompt, model),
            )

    assert adapter.complete(prompt, model).output == {"priority": "urgent"}

    raw_ms, lib_ms, added_ms = paired_ms(raw, lambda: adapter.complete(prompt, model))

    async def concurrent() -> tuple[float, float, float]:
        # Async clients are made inside the loop: their connections are bound to it.
        aclient, araw, alib = async_sides()
        try:
            return await throughput(araw, alib)
        finally:
            await aclient.close()

    raw_rps, lib_rps, ratio = asyncio.run(concurrent())
    name = f"{provider_name:9}"
    print(
        f"{name} sequential: raw SDK {raw_ms:6.2f} ms/call, promptlib {lib_ms:6.2f} ms/call", end=""
    )
    print(f" (+{added_ms:.2f} ms, median of paired differences)")
    print(
        f"{name} 64 in flight: raw SDK {raw_rps:7.0f} req/s, promptlib {lib_rps:7.0f} req/s", end=""
    )
    print(f" ({ratio:.2f}x, median of per-round ratios)")


def main() -> None:
    import anthropic
    import openai

    print(
        f"python {platform.python_version()}, openai {openai.__version__}, "
        f"anthropic {anthropic.__version__}, {platform.machine()}"
    )
    for provider in ("openai", "anthropic"):
        ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        server = multiprocessing.Process(target=serve, args=(ports, provider), daemon=True)
        server.start()
        try:
            port = ports.get(timeout=10)
            bench(provider, f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else ""))
        finally:
            server.terminate()
    print("command: python benchmarks/bench_providers.py")


if __name__ == "__main__":
    main()
