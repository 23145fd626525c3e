"""The JPEG structure walk that replaced the draft-mode decode on the submit path."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.errors import BadUserInput
from app.services.images import accept_image

LIMIT = 1 << 22


def _jpeg(**options: object) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((120, 80), 40).convert("RGB").save(buf, format="JPEG", **options)
    return buf.getvalue()


@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"optimize": True}, {"restart_marker_blocks": 1}],
                         ids=["baseline", "progressive", "optimized", "restart-markers"])
def test_every_truncation_of_a_jpeg_is_refused(options: dict[str, object]) -> None:
    data = _jpeg(**options)
    assert accept_image(data, index=0, max_bytes=LIMIT).size == len(data)
    for cut in range(3, len(data)):
        with pytest.raises(BadUserInput, match="image 0 is corrupt or truncated"):
            accept_image(data[:cut], index=0, max_bytes=LIMIT)


def test_bytes_after_the_end_marker_and_fill_bytes_are_accepted() -> None:
    data = _jpeg()
    with_trailer = data + b"\x00" * 64 + b"SEFT camera trailer"
    with_fill = data[:2] + b"\xff" * 7 + data[2:]
    assert accept_image(with_trailer, index=0, max_bytes=LIMIT).size == len(with_trailer)
    assert accept_image(with_fill, index=0, max_bytes=LIMIT).size == len(with_fill)


def test_a_jpeg_whose_segments_do_not_chain_is_refused() -> None:
    data = _jpeg()
    sos = data.index(b"\xff\xda")
    broken_length = data[: sos + 2] + b"\xff\xff" + data[sos + 4 :]  # the scan header's length overshoots the file
    no_end_marker = data[:-2] + b"\x00\x00"
    for broken in (broken_length, no_end_marker):
        with pytest.raises(BadUserInput, match="image 2 is corrupt or truncated"):
            accept_image(broken, index=2, max_bytes=LIMIT)
