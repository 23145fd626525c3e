"""Pure unit tests: history cursors, the Kafka job message, image sniffing and language tags."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain import JobStatus
from app.errors import BadUserInput
from app.jobs import Job
from app.queue.messages import JobMessage, PoisonMessage
from app.services.images import sniff_mime
from app.services.queries import decode_cursor, encode_cursor
from app.services.submit import check_lang
from app.settings import Settings

JOB_ID = uuid.UUID("01900000-0000-7000-8000-000000000001")


def _job(created_at: datetime, job_id: uuid.UUID = JOB_ID) -> Job:
    return Job(
        id=job_id, user_id=uuid.uuid4(), user_plan="free", job_type="receipt", lang="en", status=JobStatus.PENDING,
        images_done=0, image_count=0, attempts=0, error=None, created_at=created_at, started_at=None,
        completed_at=None, confirmed_at=None,
    )


def _raw_cursor(value: object) -> str:
    """A cursor in the API's wire shape (unpadded urlsafe base64 of JSON) around any value."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# --- cursors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=UTC),
        datetime(2025, 3, 1, 12, 30, 45, tzinfo=UTC),  # no microseconds
        datetime(2025, 3, 1, 12, 30, 45, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_cursor_round_trips_exactly(created_at: datetime) -> None:
    cursor = encode_cursor(_job(created_at))
    assert decode_cursor(cursor) == (created_at, JOB_ID)
    decoded_at, _ = decode_cursor(cursor)
    assert decoded_at.utcoffset() == created_at.utcoffset()  # the offset survives, not only the instant


def test_cursor_is_unpadded_urlsafe_text() -> None:
    cursor = encode_cursor(_job(datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)))
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    padded = cursor + "=" * (-len(cursor) % 4)
    assert json.loads(base64.urlsafe_b64decode(padded)) == ["2025-03-01T12:30:45.123456+00:00", str(JOB_ID)]


def test_cursor_order_follows_the_position() -> None:
    """Distinct positions give distinct cursors (the cursor really names (created_at, id))."""
    at = datetime(2025, 3, 1, tzinfo=UTC)
    other = uuid.UUID("01900000-0000-7000-8000-000000000002")
    cursors = {encode_cursor(_job(at)), encode_cursor(_job(at, other)),
               encode_cursor(_job(at + timedelta(microseconds=1)))}
    assert len(cursors) == 3


def test_cursor_accepts_padded_form() -> None:
    created = datetime(2025, 3, 1, tzinfo=UTC)
    cursor = encode_cursor(_job(created))
    assert decode_cursor(cursor + "=" * (-len(cursor) % 4)) == (created, JOB_ID)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="abc"),
        pytest.param("!!!!", id="not-base64"),
        pytest.param("é", id="non-ascii"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\x00junk\x80").decode(), id="binary-junk"),
        pytest.param(base64.urlsafe_b64encode(b"hello world").decode(), id="base64-of-text"),
        pytest.param(_raw_cursor(42), id="json-number"),
        pytest.param(_raw_cursor(None), id="json-null"),
        pytest.param(_raw_cursor({"a": 1}), id="json-object-one-key"),
        pytest.param(_raw_cursor({"created": "2025-03-01T00:00:00+00:00", "id": str(JOB_ID)}), id="json-object"),
        pytest.param(_raw_cursor([]), id="empty-list"),
        pytest.param(_raw_cursor(["2025-03-01T00:00:00+00:00"]), id="one-element"),
        pytest.param(_raw_cursor(["2025-03-01T00:00:00+00:00", str(JOB_ID), "x"]), id="three-elements"),
        pytest.param(_raw_cursor(["2025-03-01T00:00:00", str(JOB_ID)]), id="naive-datetime"),
        pytest.param(_raw_cursor(["2025-03-01", str(JOB_ID)]), id="date-only"),
        pytest.param(_raw_cursor(["yesterday", str(JOB_ID)]), id="bad-datetime"),
        pytest.param(_raw_cursor(["2025-03-01T00:00:00+00:00", "not-a-uuid"]), id="bad-uuid"),
        pytest.param(_raw_cursor([None, str(JOB_ID)]), id="null-datetime"),
        pytest.param(_raw_cursor([1700000000, str(JOB_ID)]), id="numeric-datetime"),
        pytest.param(_raw_cursor(["2025-03-01T00:00:00+00:00", None]), id="null-id"),
        pytest.param(_raw_cursor(["ab", "cd"]), id="two-strings"),
        pytest.param(_raw_cursor("ab"), id="json-string-of-two-chars"),
    ],
)
def test_decode_cursor_refuses_what_the_api_did_not_issue(cursor: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        decode_cursor(cursor)
    assert str(caught.value) == "after is not a cursor from this API"
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.parametrize("job_id", [5, ["x"], {"a": 1}, True], ids=["int", "list", "object", "bool"])
def test_decode_cursor_refuses_a_non_string_id(job_id: object) -> None:
    with pytest.raises(BadUserInput) as caught:
        decode_cursor(_raw_cursor(["2025-03-01T00:00:00+00:00", job_id]))
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


def test_decode_cursor_refuses_deeply_nested_json() -> None:
    with pytest.raises(BadUserInput):
        decode_cursor(base64.urlsafe_b64encode(b"[" * 5000).decode())


# --- the job message ----------------------------------------------------------------------------


@pytest.mark.parametrize("job_type", ["receipt", "products"])
@pytest.mark.parametrize("plan", ["free", "paid"])
def test_job_message_round_trips(job_type: str, plan: str) -> None:
    message = JobMessage(JOB_ID, job_type, plan)
    wire = message.encode()
    assert json.loads(wire) == {"job_id": str(JOB_ID), "job_type": job_type, "user_plan": plan}
    assert b" " not in wire  # compact separators
    assert JobMessage.decode(wire) == message


def test_job_message_ignores_extra_fields() -> None:
    wire = json.dumps({"job_id": str(JOB_ID), "job_type": "receipt", "user_plan": "paid", "v": 2}).encode()
    assert JobMessage.decode(wire) == JobMessage(JOB_ID, "receipt", "paid")


def _wire(**fields: object) -> bytes:
    base: dict[str, object] = {"job_id": str(JOB_ID), "job_type": "receipt", "user_plan": "free"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not _DROP}).encode()


_DROP = object()


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        pytest.param(None, "not a job message: ", id="none"),
        pytest.param(b"", "not a job message: ", id="empty"),
        pytest.param(b"not json", "not a job message: ", id="not-json"),
        pytest.param(b"\xff\xfe\xfa", "not a job message: ", id="not-utf8"),
        pytest.param(b"null", "not a job message: ", id="json-null"),
        pytest.param(b"[]", "not a job message: ", id="json-list"),
        pytest.param(b'"receipt"', "not a job message: ", id="json-string"),
        pytest.param(b"42", "not a job message: ", id="json-number"),
        pytest.param(_wire(job_id=_DROP), "not a job message: ", id="missing-job_id"),
        pytest.param(_wire(job_type=_DROP), "not a job message: ", id="missing-job_type"),
        pytest.param(_wire(user_plan=_DROP), "not a job message: ", id="missing-user_plan"),
        pytest.param(_wire(job_id="not-a-uuid"), "not a job message: ", id="bad-uuid"),
        pytest.param(_wire(job_id=""), "not a job message: ", id="empty-uuid"),
        pytest.param(_wire(job_id=12345), "not a job message: ", id="numeric-uuid"),
        pytest.param(_wire(job_id=None), "not a job message: ", id="null-uuid"),
        pytest.param(_wire(job_type="video"), "unknown job type or plan: 'video'/'free'", id="unknown-job_type"),
        pytest.param(_wire(job_type="RECEIPT"), "unknown job type or plan: 'RECEIPT'/'free'", id="upper-job_type"),
        pytest.param(_wire(user_plan="gold"), "unknown job type or plan: 'receipt'/'gold'", id="unknown-plan"),
        pytest.param(_wire(user_plan=None), "unknown job type or plan: 'receipt'/None", id="null-plan"),
    ],
)
def test_job_message_poison(raw: bytes | None, prefix: str) -> None:
    with pytest.raises(PoisonMessage) as caught:
        JobMessage.decode(raw)
    assert str(caught.value).startswith(prefix)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("fields", [{"job_type": []}, {"job_type": {}}, {"user_plan": ["paid"]}],
                         ids=["list-type", "object-type", "list-plan"])
def test_job_message_poison_for_unhashable_values(fields: dict[str, object]) -> None:
    with pytest.raises(PoisonMessage):
        JobMessage.decode(_wire(**fields))


# --- image sniffing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg", id="jpeg-jfif"),
        pytest.param(b"\xff\xd8\xff\xe1\x00\x10Exif\x00", "image/jpeg", id="jpeg-exif"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", id="png"),
        pytest.param(b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp", id="webp"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic", id="heic"),
        pytest.param(b"\x00\x00\x00\x18ftypheix", "image/heic", id="heix"),
        pytest.param(b"\x00\x00\x00\x18ftypmif1", "image/heic", id="mif1"),
        pytest.param(b"\x00\x00\x00\x18ftypmsf1", "image/heic", id="msf1"),
        pytest.param(b"", None, id="empty"),
        pytest.param(b"\xff\xd8", None, id="truncated-jpeg"),
        pytest.param(b"\x89PNG\r\n", None, id="truncated-png"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", None, id="pe-executable"),
        pytest.param(b"%PDF-1.7\n", None, id="pdf"),
        pytest.param(b"GIF89a\x01\x00\x01\x00", None, id="gif"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", None, id="riff-wave"),
        pytest.param(b"\x00\x00\x00\x18ftypisom", None, id="mp4"),
        pytest.param(b"\x00\x00\x00\x18ftypavif", None, id="avif-brand"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", None, id="svg"),
        pytest.param(b"garbage garbage garbage", None, id="garbage"),
    ],
)
def test_sniff_mime(data: bytes, mime: str | None) -> None:
    assert sniff_mime(data) == mime


def test_sniff_mime_reads_content_not_names() -> None:
    """A PNG signature anywhere but the start does not count."""
    assert sniff_mime(b"x" + b"\x89PNG\r\n\x1a\n") is None


# --- language tags -------------------------------------------------------------------------------

SETTINGS = Settings(app_env="test", max_lang_length=16)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "normalised"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("deu", "deu"),
        ("de-CH", "de-ch"),
        ("de_CH", "de-ch"),
        ("zh-Hant-TW", "zh-hant-tw"),
        ("sr_Latn_RS", "sr-latn-rs"),
        ("en-12345678", "en-12345678"),
        ("abc-defghijk-lm", "abc-defghijk-lm"),  # 15 characters
        ("en-US-abcdefgh", "en-us-abcdefgh"),  # 14 characters
    ],
)
def test_check_lang_accepts_and_normalises(lang: str, normalised: str) -> None:
    assert check_lang(lang, SETTINGS) == normalised


@pytest.mark.parametrize(
    "lang",
    [
        "",
        "e",
        "e!",
        "english",
        "12",
        "en-",
        "-en",
        "en--US",
        "en-U",  # subtags are 2 to 8 characters
        "en-123456789",
        "en US",
        " en",
        "en ",
        "de-CH-abcdefgh12",  # 16 characters but a 10-character subtag
        "en-US-abcdefghij",  # 16 characters, subtag too long
        "abcd-efghijkl-mn",  # first subtag of 4 letters
        "en-abcdefgh-ijklm",  # 17 characters: over MAX_LANG_LENGTH
        "é",
        "en\u00a0",
        "x" * 10_000,
    ],
)
def test_check_lang_refuses(lang: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        check_lang(lang, SETTINGS)
    assert str(caught.value) == "lang must be a language tag such as 'en' or 'de-CH'"
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "lang"}


def test_check_lang_length_limit_is_the_setting() -> None:
    tight = Settings(app_env="test", max_lang_length=5)  # type: ignore[arg-type]
    assert check_lang("de-CH", tight) == "de-ch"
    with pytest.raises(BadUserInput):
        check_lang("de-CHX", tight)


@pytest.mark.parametrize("lang", ["en\n", "de-CH\n"])
def test_check_lang_refuses_a_trailing_newline(lang: str) -> None:
    with pytest.raises(BadUserInput):
        check_lang(lang, SETTINGS)
