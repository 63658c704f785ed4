"""Image sizes read from the file's header, and the providers' published image rules.

Only inline images (base64 data, or ``data:`` URLs) have a size promptlib can read; an
image the provider fetches from a URL is estimated without one.

- OpenAI tile rule (GPT-4o family, GPT-4.1, o-series): fit in 2048×2048, shortest side to
  768, then ``base + tile × (number of 512-px tiles)``; ``detail="low"`` is the base.
- OpenAI patch rule (GPT-4.1-mini/nano, o4-mini): 32-px patches, at most 1,536 (the image is
  scaled down to fit), times the model's multiplier.
- Anthropic: about ``width × height / 750`` tokens, after scaling the long edge to at most
  1,568 px.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import TYPE_CHECKING, NamedTuple

from promptlib._parts import ImagePart

if TYPE_CHECKING:
    from promptlib._messages import Message
    from promptlib._tokens.catalog import ModelInfo

__all__ = [
    "ANTHROPIC_IMAGES",
    "NO_RULE",
    "ImageRule",
    "anthropic_image_tokens",
    "image_rule",
    "image_size",
    "message_image_tokens",
    "patch_tokens",
    "tile_tokens",
]

# An image whose size is unknown (a URL) on a model without constants: OpenAI's detail
# "low" figure, and the high-detail figure of a 512x512 image.
_IMAGE_LOW, _IMAGE_DEFAULT = 85, 255

_HEAD = 65_536  # bytes of the file read for its size (JPEG markers may come late)


def image_size(part: ImagePart) -> tuple[int, int] | None:
    """``(width, height)`` of an inline PNG, JPEG, GIF or WebP image, else ``None``."""
    data = part.data
    if data is None and part.url is not None and part.url.startswith("data:"):
        data = part.url.partition(",")[2]
    if not data:
        return None
    try:
        head = base64.b64decode(data[: _HEAD * 4 // 3 // 4 * 4], validate=False)
    except (binascii.Error, ValueError):
        return None
    return _size(head)


def _size(head: bytes) -> tuple[int, int] | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return _checked(width, height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return _checked(width, height)
    if head.startswith(b"\xff\xd8"):
        return _jpeg(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 < len(head):
        if head[position] != 0xFF:
            position += 1
            continue
        marker = head[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", head[position + 2 : position + 4])
        # Start-of-frame markers (not DHT C4, JPG C8, DAC CC) carry the size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return _checked(width, height)
        position += 2 + length
    return None


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return _checked(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return _checked((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return _checked(width, height)
    return None


def _checked(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if 0 < width <= 100_000 and 0 < height <= 100_000 else None


def tile_tokens(size: tuple[int, int], base: int, tile: int) -> int:
    """OpenAI's tile rule for a high-detail image of ``size``."""
    width, height = float(size[0]), float(size[1])
    fit = min(1.0, 2048 / max(width, height))
    width, height = width * fit, height * fit
    fit = min(1.0, 768 / min(width, height))
    width, height = width * fit, height * fit
    return base + tile * math.ceil(width / 512) * math.ceil(height / 512)


def patch_tokens(size: tuple[int, int], multiplier: float) -> int:
    """OpenAI's patch rule: 32-px patches (an image over 1,536 is scaled down to fit)
    times the model's multiplier."""
    width, height = float(size[0]), float(size[1])
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches > 1536:
        shrink = math.sqrt(32 * 32 * 1536 / (width * height))
        shrink *= min(
            math.floor(width * shrink / 32) / (width * shrink / 32),
            math.floor(height * shrink / 32) / (height * shrink / 32),
        )
        patches = math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32)
    return math.ceil(min(patches, 1536) * multiplier)


def anthropic_image_tokens(size: tuple[int, int]) -> int:
    """Anthropic's published estimate: width × height / 750, long edge at most 1,568 px."""
    width, height = size
    scale = min(1.0, 1568 / max(width, height))
    return max(1, math.ceil(width * scale * height * scale / 750))


class ImageRule(NamedTuple):
    """How a model counts images: OpenAI's tile rule (``base``, ``tile``), its patch rule
    (``multiplier``), Anthropic's area rule, or none known."""

    base: int | None = None
    tile: int | None = None
    multiplier: float | None = None
    anthropic: bool = False


NO_RULE = ImageRule()
ANTHROPIC_IMAGES = ImageRule(anthropic=True)


def image_rule(info: ModelInfo) -> ImageRule:
    if info.provider == "anthropic":
        return ANTHROPIC_IMAGES
    return ImageRule(info.image_base, info.image_tile, info.image_patch_multiplier)


def message_image_tokens(message: Message, rule: ImageRule = NO_RULE) -> tuple[int, bool]:
    """Tokens of a message's images, and whether that is exact.

    ``detail="low"`` on a tile-rule model costs the base, exactly. Otherwise an inline
    image's size is read from its header and the model's published rule applied (an
    estimate: not yet checked against the API); an image by URL, or a model without a
    known rule, is estimated at 85 (low) or 255 tokens."""
    tokens, exact = 0, True
    for part in message.content:
        if not isinstance(part, ImagePart):
            continue
        if part.detail == "low" and rule.base is not None:
            tokens += rule.base
            continue
        exact = False
        size = image_size(part)
        if size is not None and rule.anthropic:
            tokens += anthropic_image_tokens(size)
        elif size is not None and rule.multiplier is not None:
            tokens += patch_tokens(size, rule.multiplier)
        elif size is not None and rule.base is not None and rule.tile is not None:
            tokens += tile_tokens(size, rule.base, rule.tile)
        elif rule.base is not None and rule.tile is not None:
            tokens += rule.base + rule.tile
        else:
            tokens += _IMAGE_LOW if part.detail == "low" else _IMAGE_DEFAULT
    return tokens, exact
