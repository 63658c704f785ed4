"""AnthropicProvider.count_tokens: the adapter's whole request goes to the count-tokens
endpoint (thinking and output_config included), for any model, with promptlib errors."""

from __future__ import annotations

import asyncio
import json

import pytest

from promptlib import AnthropicProvider, RetryPolicy
from promptlib._errors import ProviderError
from promptlib._messages import Message, Prompt
from promptlib._providers.sdk_http import http_module

KEY = "sk-ant-test-0123456789abcdef"
QUICK = RetryPolicy(attempts=2, sleep=lambda s: None)


def provider(handler, *, asynchronous: bool = False) -> AnthropicProvider:
    import anthropic

    http = http_module(anthropic)
    if asynchronous:

        async def handle(request):
            return handler(request)

        client = anthropic.AsyncAnthropic(
            api_key=KEY, http_client=http.AsyncClient(transport=http.MockTransport(handle))
        )
        return AnthropicProvider(
            async_client=client, retry=RetryPolicy(attempts=2, sleep=lambda s: None)
        )
    client = anthropic.Anthropic(
        api_key=KEY, http_client=http.Client(transport=http.MockTransport(handler))
    )
    return AnthropicProvider(client=client, retry=RetryPolicy(attempts=2, sleep=lambda s: None))


PROMPT = Prompt(
    (Message.system("Be brief."), Message.user("Hello")),
    params={
        "extra": {
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "output_config": {"effort": "low"},
        },
        "max_tokens": 4096,
        "temperature": 0.2,
    },
)


def test_the_whole_request_is_counted_for_a_model_the_catalog_lacks():
    import anthropic

    http = http_module(anthropic)
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return http.Response(200, json={"input_tokens": 321})

    count = provider(handler).count_tokens(PROMPT, "claude-brand-new-9")
    assert (count.total, count.exact, count.model) == (321, True, "claude-brand-new-9")
    (body,) = seen
    assert body == {
        "model": "claude-brand-new-9",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"effort": "low"},
    }


def test_the_async_twin_counts_the_same():
    import anthropic

    http = http_module(anthropic)

    def handler(request):
        return http.Response(200, json={"input_tokens": 7})

    count = asyncio.run(
        provider(handler, asynchronous=True).acount_tokens(PROMPT, "claude-haiku-4-5")
    )
    assert (count.total, count.exact) == (7, True)


def test_failures_are_promptlib_errors_without_the_key():
    import anthropic

    http = http_module(anthropic)

    def handler(request):
        return http.Response(
            500, json={"type": "error", "error": {"type": "api_error", "message": f"boom {KEY}"}}
        )

    with pytest.raises(ProviderError) as caught:
        provider(handler).count_tokens(PROMPT, "claude-haiku-4-5")
    assert KEY not in str(caught.value)
