"""Image intake: decode, size-check and identify uploaded images by their content.

The type comes from the file's bytes, never from the client's filename or content type.
JPEG, PNG and WebP are opened with Pillow: the header gives the dimensions (checked
against MAX_IMAGE_PIXELS before any pixel is decoded, so a decompression bomb costs
nothing), then the file's structure is checked, refusing truncated or corrupt ones
(see `_check_structure`): no pixel is decoded on the submit path.
HEIC is accepted by its signature only: Pillow cannot read it without a plugin.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import re
import struct
import warnings
from base64 import b64decode

from PIL import Image, UnidentifiedImageError

from app.errors import BadUserInput
from app.jobs import NewImage

_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# In a JPEG's entropy-coded data 0xFF is followed by 0x00 (stuffing), by RST0-7, or by more
# 0xFF (fill): anything else is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
_JPEG_AFTER_FILL = re.compile(rb"[^\xff]")
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length field
_JPEG_MAX_SEGMENTS = 4096  # real files have tens; a bound on the Python loop for hostile ones


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
    """Standard base64 (a data: URL prefix and line breaks are tolerated) -> bytes, refusing oversize input early."""
    if value.startswith("data:"):
        value = value.partition(",")[2]
    if len(value) > (max_bytes * 4) // 3 + 8 + len(value) // 76 * 2:
        raise BadUserInput(f"image {index} is larger than {max_bytes} bytes", field=f"images.{index}", max=max_bytes)
    try:
        data = b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:  # line-wrapped base64: strip the white space (str.split is ~30x faster than a regex here)
            data = b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadUserInput(f"image {index} is not valid base64", field=f"images.{index}") from exc
    if len(data) > max_bytes:
        raise BadUserInput(f"image {index} is larger than {max_bytes} bytes", field=f"images.{index}", max=max_bytes)
    return data


def check_decodable(data: bytes, mime: str, *, index: int, max_pixels: int) -> tuple[int, int] | None:
    """The (width, height) of a JPEG, PNG or WebP after checking its size and structure; None for HEIC."""
    expected = _PILLOW_FORMATS.get(mime)
    if expected is None:
        return None
    field = f"images.{index}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                width, height = image.size
                _check_pixels(width, height, index=index, max_pixels=max_pixels)
                _check_structure(image, data, expected)
    except BadUserInput:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own ceiling, far above ours: the same answer
        raise BadUserInput(
            f"image {index} has more than {max_pixels} pixels", field=field, maxPixels=max_pixels
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            IndexError, TypeError, struct.error) as exc:
        raise BadUserInput(f"image {index} is corrupt or truncated", field=field) from exc
    return width, height


def _check_pixels(width: int, height: int, *, index: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise BadUserInput(
            f"image {index} has more than {max_pixels} pixels ({width}x{height})",
            field=f"images.{index}", maxPixels=max_pixels,
        )


def _check_structure(image: Image.Image, data: bytes, kind: str) -> None:
    """Raise when the file is truncated or corrupt, without decoding any pixel.

    JPEG: every marker segment is walked from SOI to EOI (lengths must chain, each scan's
    entropy-coded data must run into a valid marker), so a truncated file, or one whose
    segments do not chain, is refused; bytes after EOI are ignored as before (cameras
    append trailers). This replaces a draft-mode decode (all the entropy-coded data through
    libjpeg at 1/8 scale): 2.7 ms of CPU per 200 KB photo on the submit path, for ~0.1 ms
    here. What it no longer catches is a scan whose Huffman data is damaged in place with
    its markers intact; such a file is stored, and the recognizer fails that image (the
    local one decodes it in full; a remote one answers with an error).
    PNG: every chunk's CRC up to IEND (`verify()`, no inflate). WebP: the RIFF length must
    match the bytes received.
    """
    if kind == "JPEG":
        _check_jpeg_segments(data)
    elif kind == "PNG":
        image.verify()
    elif kind == "WEBP" and int.from_bytes(data[4:8], "little") + 8 > len(data):
        raise EOFError("truncated RIFF container")


def _check_jpeg_segments(data: bytes) -> None:
    """Walk the JPEG's markers from after SOI to EOI; EOFError when EOI is never reached."""
    pos, end = 2, len(data)
    for _ in range(_JPEG_MAX_SEGMENTS):
        if pos + 1 >= end or data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes before a marker: go to the last of them
            found = _JPEG_AFTER_FILL.search(data, pos)
            pos = found.start() - 1 if found else end
        elif marker == 0xD9:  # EOI
            return
        elif marker in _JPEG_NO_LENGTH:
            pos += 2
        else:
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            if length < 2:
                break
            pos += 2 + length
            if marker == 0xDA:  # SOS: skip the entropy-coded data to the next marker
                found = _JPEG_NEXT_MARKER.search(data, pos)
                pos = found.start() if found else end
    raise EOFError("JPEG segments do not lead to an end-of-image marker")


def accept_image(data: bytes, *, index: int, max_bytes: int, max_pixels: int = 50_000_000) -> NewImage:
    """Check one image and describe it for storage; BadUserInput when it is refused."""
    if not data:
        raise BadUserInput(f"image {index} is empty", field=f"images.{index}")
    if len(data) > max_bytes:
        raise BadUserInput(f"image {index} is larger than {max_bytes} bytes", field=f"images.{index}", max=max_bytes)
    mime = sniff_mime(data)
    if mime is None:
        raise BadUserInput(
            f"image {index} is not a JPEG, PNG, WebP or HEIC image", field=f"images.{index}"
        )
    check_decodable(data, mime, index=index, max_pixels=max_pixels)
    return NewImage(index=index, mime=mime, sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data)
