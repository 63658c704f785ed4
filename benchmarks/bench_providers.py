"""Per-call overhead of promptlib's adapters over the raw SDK call, on a local server.

A minimal HTTP server (its own process, 127.0.0.1) answers every request with a recorded
completion. Each side sends the same request: the raw SDK call, and promptlib's
``complete`` (which also builds the request, parses and validates the reply, and prices
it). Sequential: median per-call time. Concurrent: 64 requests in flight with the async
clients, as requests per second.

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


def paired_ms(raw, lib, n: int = 400) -> tuple[float, float, float]:
    """Median ms per call of each side, and the median of per-pair differences: the two
    calls alternate, so machine drift hits both alike."""
    for _ in range(20):
        raw()
        lib()
    raws, libs, diffs = [], [], []
    for _ in range(n):
        start = time.perf_counter()
        raw()
        middle = time.perf_counter()
        lib()
        end = time.perf_counter()
        raws.append(middle - start)
        libs.append(end - middle)
        diffs.append((end - middle) - (middle - start))
    return tuple(statistics.median(x) * 1000 for x in (raws, libs, diffs))  # type: ignore[return-value]


async def throughput(fn, in_flight: int = 64, rounds: int = 8) -> float:
    await asyncio.gather(*(fn() for _ in range(in_flight)))  # warm the pool
    start = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(fn() for _ in range(in_flight)))
    return in_flight * rounds / (time.perf_counter() - start)


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

        def async_sides() -> tuple[Any, Any]:
            aclient = openai.AsyncOpenAI(api_key="k", base_url=url, max_retries=0)
            aadapter = OpenAIProvider(async_client=aclient)
            return (
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

        def async_sides() -> tuple[Any, Any]:
            aclient = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0)
            aadapter = AnthropicProvider(async_client=aclient)
            return (
                lambda: aclient.messages.create(**request),
                lambda: aadapter.acomplete(prompt, model),
            )

    assert adapter.complete(prompt, model).output == {"priority": "urgent"}

    raw_ms, lib_ms, added_ms = paired_ms(raw, lambda: adapter.complete(prompt, model))

    async def both() -> tuple[float, float]:
        # Async clients are made inside the loop: their connections are bound to it.
        araw, alib = async_sides()
        raw_rps = await throughput(araw)
        lib_rps = await throughput(alib)
        raw_rps = max(raw_rps, await throughput(araw))  # best of two, interleaved
        lib_rps = max(lib_rps, await throughput(alib))
        return raw_rps, lib_rps

    raw_rps, lib_rps = asyncio.run(both())
    name = f"{provider_name:9}"
    print(
        f"{name} sequential: raw SDK {raw_ms:6.2f} ms/call, promptlib {lib_ms:6.2f} ms/call", end=""
    )
    print(f" (+{added_ms:.2f} ms, median of paired differences)")
    print(
        f"{name} 64 in flight: raw SDK {raw_rps:7.0f} req/s, promptlib {lib_rps:7.0f} req/s", end=""
    )
    print(f" ({lib_rps / raw_rps:.2f}x)")


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
