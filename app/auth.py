"""Token verification: the caller's identity from `Authorization: Bearer <JWT>`."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from app.services.errors import Unauthenticated
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling. `plan` is set only when the token says so (it then wins over the stored plan)."""

    user_id: uuid.UUID
    plan: str | None
    expires_at: float


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` value, or None when absent or of another scheme."""
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verify_token(token: str, settings: Settings) -> Identity:
    """Decode and check a token with the configured algorithm only (never the token's own `alg`)."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp"]},
            leeway=settings.jwt_leeway_s,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("the token is not valid") from exc
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise Unauthenticated("the token's subject is not a user id") from exc
    plan = claims.get("plan")
    if plan is not None and plan not in ("free", "paid"):
        raise Unauthenticated("the token's plan claim must be 'free' or 'paid'")
    return Identity(user_id=user_id, plan=plan, expires_at=float(claims["exp"]))


def issue_token(settings: Settings, *, user_id: uuid.UUID, plan: str | None, ttl_s: int = 30 * 24 * 3600) -> str:
    """A signed token for development and tests (`foodai token`)."""
    claims: dict[str, object] = {"sub": str(user_id), "iat": int(time.time()), "exp": int(time.time()) + ttl_s}
    if plan is not None:
        claims["plan"] = plan
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm)
