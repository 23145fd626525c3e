"""Image intake: decode, size-check and identify uploaded images by their content."""

from __future__ import annotations

import binascii
import hashlib
from base64 import b64decode

from app.repos.jobs import NewImage
from app.services.errors import BadUserInput


def sniff_mime(data: bytes) -> str | None:
    """The image type from the file's first bytes (never the client's word), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"):
        return "image/heic"
    return None


def decode_base64(value: str, *, index: int, max_bytes: int) -> bytes:
    """Standard base64 (a data: URL prefix is tolerated) -> bytes, refusing oversize input early."""
    if value.startswith("data:"):
        value = value.partition(",")[2]
    if len(value) > (max_bytes * 4) // 3 + 8:
        raise BadUserInput(f"image {index} is larger than {max_bytes} bytes", field=f"images.{index}")
    try:
        return b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadUserInput(f"image {index} is not valid base64", field=f"images.{index}") from exc


def accept_image(data: bytes, *, index: int, max_bytes: int) -> NewImage:
    """Check one image and describe it for storage; BadUserInput when it is refused."""
    if not data:
        raise BadUserInput(f"image {index} is empty", field=f"images.{index}")
    if len(data) > max_bytes:
        raise BadUserInput(f"image {index} is larger than {max_bytes} bytes", field=f"images.{index}")
    mime = sniff_mime(data)
    if mime is None:
        raise BadUserInput(
            f"image {index} is not a JPEG, PNG, WebP or HEIC image", field=f"images.{index}"
        )
    return NewImage(index=index, mime=mime, sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data)
