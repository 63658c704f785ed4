"""What an OpenAI-compatible server accepts: a small capability profile per server.

The OpenAI adapter reads a :class:`ServerProfile` instead of assuming OpenAI's own API:
which parameter carries the output-token limit, how structured output is asked for, and
whether streams report usage. Pick one by name (``OpenAIProvider(base_url=...,
server="vllm")``) or pass your own.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from promptlib._errors import ConfigurationError

__all__ = ["SERVER_PROFILES", "ServerProfile", "server_profile"]

StructuredOutput = Literal["json_schema", "json_object", "prompted"]


@dataclass(frozen=True)
class ServerProfile:
    """What one OpenAI-compatible server accepts.

    Attributes:
        name: how the profile is known (``"openai"``, ``"vllm"``, ...).
        token_limit: the request field for the output-token limit: OpenAI's
            ``max_completion_tokens``, or the older ``max_tokens`` most servers read.
        structured_output: how an output schema is sent: ``json_schema`` (a
            ``response_format`` with the schema, strict where it can be), ``json_object``
            (JSON mode; with ``schema_in_json_object`` the schema rides along, as
            llama-cpp-python's grammar-constrained mode reads it), or ``prompted`` (no
            ``response_format``: the prompt's ``JsonOutput`` block states the schema, and
            the reply is validated and repaired as usual).
        schema_in_json_object: send the schema inside a ``json_object`` response format.
        strict: ask for strict schemas (``"strict": true``) where the schema allows it.
        stream_usage: ask streams to report usage (``stream_options.include_usage``).
    """

    name: str
    token_limit: Literal["max_completion_tokens", "max_tokens"] = "max_tokens"
    structured_output: StructuredOutput = "json_schema"
    schema_in_json_object: bool = False
    strict: bool = True
    stream_usage: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError("ServerProfile needs a name, e.g. ServerProfile('my-server')")
        for flag in ("schema_in_json_object", "strict", "stream_usage"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigurationError(
                    f"ServerProfile({self.name!r}): {flag} must be True or False, "
                    f"not {getattr(self, flag)!r}"
                )
        if self.token_limit not in ("max_completion_tokens", "max_tokens"):
            raise ConfigurationError(
                f"ServerProfile({self.name!r}): token_limit must be 'max_completion_tokens' "
                f"or 'max_tokens', not {self.token_limit!r}"
            )
        if self.structured_output not in ("json_schema", "json_object", "prompted"):
            raise ConfigurationError(
                f"ServerProfile({self.name!r}): structured_output must be 'json_schema', "
                f"'json_object' or 'prompted', not {self.structured_output!r}"
            )


# What each server accepted when last checked (2026-11); correct them with your own
# ServerProfile if your version differs.
SERVER_PROFILES: dict[str, ServerProfile] = {
    profile.name: profile
    for profile in (
        # OpenAI's own API: reasoning models refuse max_tokens.
        ServerProfile("openai", token_limit="max_completion_tokens"),
        # Any other server: max_tokens is the field every compatible server reads.
        ServerProfile("compatible"),
        # llama-cpp-python's server (checked against 0.3.36): it ignores
        # max_completion_tokens, refuses response_format json_schema, and constrains
        # json_object replies with the schema given beside it; streams carry no usage.
        ServerProfile(
            "llama-cpp-python",
            structured_output="json_object",
            schema_in_json_object=True,
            stream_usage=False,
        ),
        # llama.cpp's own llama-server, vLLM and Ollama read max_tokens and accept
        # json_schema response formats (their documentation).
        ServerProfile("llama.cpp"),
        ServerProfile("vllm"),
        ServerProfile("ollama"),
    )
}


def server_profile(server: object, base_url: str | None) -> ServerProfile:
    """The profile for ``server``; by default OpenAI's, or ``compatible`` with a base URL."""
    if isinstance(server, ServerProfile):
        return server
    if server is None:
        official = base_url is None or "api.openai.com" in base_url
        return SERVER_PROFILES["openai" if official else "compatible"]
    if not isinstance(server, str):
        raise ConfigurationError(
            f"server={server!r}: give a profile name ({', '.join(SERVER_PROFILES)}) or a "
            "promptlib.ServerProfile"
        )
    if server in SERVER_PROFILES:
        return SERVER_PROFILES[server]
    hint = difflib.get_close_matches(server, list(SERVER_PROFILES), n=1)
    raise ConfigurationError(
        f"no server profile {server!r}"
        + (f"; did you mean {hint[0]!r}?" if hint else "")
        + f" (known: {', '.join(SERVER_PROFILES)}); or pass your own "
        "promptlib.ServerProfile(...)"
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", ServerProfile)
