"""Security settings, token verification in-process, the dev token command, image checks."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image
from pydantic import ValidationError

from app.auth import SUBJECT_NAMESPACE, TokenVerifier, issue_token
from app.errors import BadUserInput, Unauthenticated
from app.services.images import accept_image, decode_base64
from app.settings import Settings
from tests.support import ROOT

SECRET = "s" * 40


def _settings(**values: object) -> Settings:
    return Settings(**{"app_env": "test", "jwt_secret": SECRET, **values})  # type: ignore[arg-type]


def test_defaults_give_free_users_less_than_paid_ones() -> None:
    s = Settings()
    assert s.quota_free_per_minute < s.quota_paid_per_minute
    assert s.quota_free_per_day < s.quota_paid_per_day
    assert (s.max_images_per_job, s.max_image_bytes) == (10, 10 * 1024 * 1024)
    # multipart: 10 phone photos of 6 MB and the form around them; base64 JSON lower (docs/security.md)
    assert (s.request_bytes_limit, s.json_request_bytes_limit) == (64 * 1024 * 1024, 32 * 1024 * 1024)
    assert _settings(max_images_per_job=2).request_bytes_limit == 21 * 1024 * 1024
    assert _settings(max_request_bytes=16 * 1024 * 1024).json_request_bytes_limit == 16 * 1024 * 1024


def test_a_public_key_and_a_jwks_url_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        _settings(jwt_public_key="x", jwt_jwks_url="https://idp.example/jwks")


def test_a_plain_http_jwks_url_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(app_env="production", jwt_secret=SECRET, jwt_jwks_url="http://idp.example/jwks",  # type: ignore[arg-type]
                 recognizer_receipt="local", recognizer_products="local")


def test_introspection_and_graphiql_default_off_in_production_only() -> None:
    prod = Settings(app_env="production", jwt_secret=SECRET, recognizer_receipt="local",  # type: ignore[arg-type]
                    recognizer_products="local")
    assert (prod.introspection_enabled, prod.graphiql_enabled) == (False, False)
    assert (_settings().introspection_enabled, _settings().graphiql_enabled) == (True, True)


def test_hashed_subjects_and_a_custom_plan_claim() -> None:
    settings = _settings(jwt_subject="hashed", jwt_plan_claim="https://foodai.app/plan", jwt_issuer="https://i/")
    now = int(time.time())
    token = jwt.encode({"sub": "auth0|abc", "exp": now + 60, "iss": "https://i/", "https://foodai.app/plan": "paid"},
                       SECRET, algorithm="HS256")
    identity = TokenVerifier(settings).verify(token)
    assert identity.user_id == uuid.uuid5(SUBJECT_NAMESPACE, "https://i/|auth0|abc")
    assert identity.plan == "paid"


def test_issued_tokens_carry_the_configured_audience_and_issuer() -> None:
    settings = _settings(jwt_audience="aud-1", jwt_issuer="https://iss/")
    user_id = uuid.uuid4()
    identity = TokenVerifier(settings).verify(issue_token(settings, user_id=user_id, plan="free"))
    assert (identity.user_id, identity.plan) == (user_id, "free")
    with pytest.raises(Unauthenticated, match="not valid"):
        TokenVerifier(_settings(jwt_audience="aud-2")).verify(issue_token(settings, user_id=user_id, plan=None))


def test_no_dev_tokens_when_keys_are_asymmetric() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings = _settings(jwt_public_key=pem.decode())
    with pytest.raises(ValueError, match="identity provider"):
        issue_token(settings, user_id=uuid.uuid4(), plan=None)
    # and the shared secret is not a key any more
    hs = jwt.encode({"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="not valid"):
        TokenVerifier(settings).verify(hs)


def _token_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "JWT_", "RECOGNIZER_"))}
    return subprocess.run([sys.executable, "-m", "app.cli", "token", "--plan", "paid"], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_dev_token_command_refuses_to_run_in_production() -> None:
    refused = _token_command({"APP_ENV": "production", "JWT_SECRET": SECRET, "RECOGNIZER_RECEIPT": "local",
                              "RECOGNIZER_PRODUCTS": "local"})
    assert refused.returncode != 0
    assert "refusing to mint tokens when APP_ENV=production" in refused.stderr
    assert refused.stdout == ""
    allowed = _token_command({"APP_ENV": "development", "JWT_SECRET": SECRET})
    assert allowed.returncode == 0, allowed.stderr
    assert TokenVerifier(_settings()).verify(allowed.stdout.strip()).plan == "paid"


# --- images ---------------------------------------------------------------------------------------


def _encoded(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 30).convert("RGB").save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_images_are_refused(fmt: str) -> None:
    data = _encoded(fmt)
    assert accept_image(data, index=0, max_bytes=1 << 20).size == len(data)
    with pytest.raises(BadUserInput, match="corrupt or truncated"):
        accept_image(data[: len(data) * 2 // 3], index=0, max_bytes=1 << 20)


def test_pixel_cap_is_checked_from_the_header() -> None:
    data = _encoded("PNG", (200, 100))
    accept_image(data, index=0, max_bytes=1 << 20, max_pixels=20_000)
    with pytest.raises(BadUserInput, match=r"image 3 has more than 19999 pixels \(200x100\)"):
        accept_image(data, index=3, max_bytes=1 << 20, max_pixels=19_999)


@pytest.mark.parametrize("value", ["@@@@", "YQ", "\u00e9\u00e9\u00e9\u00e9", "data:image/png;base64,!!"])
def test_base64_that_does_not_decode_is_refused(value: str) -> None:
    with pytest.raises(BadUserInput, match="not valid base64"):
        decode_base64(value, index=0, max_bytes=1 << 20)
