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
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in prompt.messages:
        content = message.content
        if message.role == "system":
            system.append(message.text)
            continue
        if turns and turns[-1]["role"] == message.role:
            previous = turns[-1]["content"]
            if isinstance(previous, str):
                previous = turns[-1]["content"] = [{"type": "text", "text": previous}]
            previous.extend(_part(p) for p in content)
        elif len(content) == 1 and type(content[0]) is TextPart:
            turns.append({"role": message.role, "content": content[0].text})
        else:
            turns.append({"role": message.role, "content": [_part(p) for p in content]})
    request: dict[str, Any] = {"messages": turns}
    joined = "\n\n".join(system)
    if joined:
        request["system"] = joined
    return request
