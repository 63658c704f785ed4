"""A Prompt as Anthropic Messages API fields: ``system`` apart, same-role turns merged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptlib.messages import ImagePart, Part, TextPart

if TYPE_CHECKING:
    from promptlib.messages import Prompt

__all__ = ["anthropic_messages"]


def _part(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    assert isinstance(part, ImagePart)
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": part.media_type, "data": part.data},
    }


def anthropic_messages(prompt: Prompt[Any]) -> dict[str, Any]:
    """``{"system": ..., "messages": [...]}`` for the Messages API.

    The system messages become the ``system`` field; consecutive turns of the same role are
    merged, as the API requires; a turn with a single text part is sent as a string.
    """
    system = "\n\n".join(m.text for m in prompt.messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for message in prompt.messages:
        if message.role == "system":
            continue
        parts = [_part(p) for p in message.content]
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].extend(parts)
        else:
            turns.append({"role": message.role, "content": parts})
    for turn in turns:
        if len(turn["content"]) == 1 and turn["content"][0]["type"] == "text":
            turn["content"] = turn["content"][0]["text"]
    request: dict[str, Any] = {"messages": turns}
    if system:
        request["system"] = system
    return request
