"""Token verification: the caller's identity from `Authorization: Bearer <JWT>`.

The accepted algorithm comes from configuration, never from the token: HS256 (or another
HMAC) with JWT_SECRET, or one public-key algorithm with JWT_PUBLIC_KEY or the keys of a
JWKS URL (Supabase, Auth0, Keycloak, Firebase). `exp` is required; `aud` and `iss` are
enforced when configured.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from app.domain import Plan
from app.errors import Unauthenticated
from app.security.jwks import JwksCache
from app.settings import Settings

INVALID = "the token is not valid"
# Subjects that are not UUIDs (Auth0 "auth0|...", Firebase uids) map into this namespace with JWT_SUBJECT=hashed.
SUBJECT_NAMESPACE = uuid.UUID("6b0c8a52-43a5-4c55-9d4f-7d3b1c2f7e10")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling. `plan` is set only when the token says so (it then wins over the stored plan)."""

    user_id: uuid.UUID
    plan: str | None
    expires_at: float


def bearer_token(header_value: object) -> str | None:
    """The token of an `Authorization: Bearer ...` value, or None when absent, not a string or of another scheme."""
    if not isinstance(header_value, str) or not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class TokenVerifier:
    """Verifies tokens for one process; with a JWKS URL it holds the fetched keys (see JwksCache)."""

    def __init__(self, settings: Settings, jwks: JwksCache | None = None) -> None:
        self.settings = settings
        algorithm = settings.jwt_key_algorithm if settings.jwt_asymmetric else settings.jwt_algorithm
        self.algorithms = [algorithm]
        self.jwks = jwks
        if jwks is None and settings.jwt_jwks_url:
            self.jwks = JwksCache(
                settings.jwt_jwks_url, algorithm=algorithm, ttl_s=settings.jwt_jwks_cache_s,
                refresh_s=settings.jwt_jwks_refresh_s, timeout_s=settings.jwt_jwks_timeout_s,
            )
        self._pem_key = _load_public_key(settings.jwt_public_key, algorithm) if settings.jwt_public_key else None

    async def prepare(self, token: str | None) -> None:
        """Make sure the key the token names is fetched (JWKS only); never raises for a bad token."""
        if self.jwks is not None and token is not None:
            await self.jwks.ensure(_kid(token))

    def verify(self, token: str) -> Identity:
        """Decode and check a token; Unauthenticated with a stable message when it is refused."""
        claims = self._decode(token, self._key(token))
        return _identity(claims, self.settings)

    def _key(self, token: str) -> Any:
        if self.jwks is not None:
            key = self.jwks.get(_kid(token))
            if key is None:
                raise Unauthenticated(INVALID)
            return key
        if self._pem_key is not None:
            return self._pem_key
        return self.settings.jwt_secret.get_secret_value()

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        s = self.settings
        require = ["sub", "exp"] + (["aud"] if s.jwt_audience else []) + (["iss"] if s.jwt_issuer else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=self.algorithms, audience=s.jwt_audience, issuer=s.jwt_issuer,
                options={"require": require, "verify_aud": s.jwt_audience is not None}, leeway=s.jwt_leeway_s,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:  # a key of the wrong type is a TypeError
            raise Unauthenticated(INVALID) from exc
        return claims


def _kid(token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    return kid if isinstance(kid, str) else None


def _load_public_key(pem: str, algorithm: str) -> Any:
    """The configured PEM as a key object of the configured algorithm (fails at startup, not per request)."""
    return jwt.get_algorithm_by_name(algorithm).prepare_key(pem.encode())


def _identity(claims: dict[str, Any], settings: Settings) -> Identity:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated(INVALID)
    if settings.jwt_subject == "hashed":
        user_id = uuid.uuid5(SUBJECT_NAMESPACE, f"{claims.get('iss', '')}|{sub}")
    else:
        try:
            user_id = uuid.UUID(sub)
        except ValueError as exc:
            raise Unauthenticated("the token's subject is not a user id") from exc
    plan = claims.get(settings.jwt_plan_claim)
    if plan is not None and Plan.parse(plan) is None:
        raise Unauthenticated("the token's plan claim must be 'free' or 'paid'")
    return Identity(user_id=user_id, plan=plan, expires_at=float(claims["exp"]))


def verify_token(token: str, settings: Settings) -> Identity:
    """Verify with a shared secret or a PEM key (a JWKS verifier needs TokenVerifier.prepare first)."""
    return TokenVerifier(settings).verify(token)


def issue_token(settings: Settings, *, user_id: uuid.UUID, plan: str | None, ttl_s: int = 30 * 24 * 3600) -> str:
    """A signed HS token for development and tests (`foodai token`); refused when keys are asymmetric."""
    if settings.jwt_asymmetric:
        raise ValueError("tokens are verified with a public key here: mint them with your identity provider")
    now = int(time.time())
    claims: dict[str, object] = {"sub": str(user_id), "iat": now, "exp": now + ttl_s}
    if plan is not None:
        claims[settings.jwt_plan_claim] = plan
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm)
