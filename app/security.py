"""Access tokens (JWT, HS256 pinned) and signed tickets."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from jose import ExpiredSignatureError, JWTError, jwt

from app import errors
from app.config import get_settings
from models.base import utcnow

ALGORITHM = "HS256"


def create_access_token(*, user_id: int, role: str) -> tuple[str, int]:
    settings = get_settings()
    now = utcnow()
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM), ttl


# A request's token is verified by the rate limit and by the authentication dependency, and a person
# sends many requests with one token: keep verified claims (never a failure) and re-check only expiry.
_VERIFIED_MAX = 20_000
_verified: dict[tuple[str, str], dict[str, Any]] = {}


def decode_access_token(token: str) -> dict[str, Any]:
    key = (get_settings().jwt_secret.get_secret_value(), token)
    claims = _verified.get(key)
    if claims is not None:
        if claims["exp"] <= time.time():
            _verified.pop(key, None)
            raise errors.TokenExpired()
        return claims
    claims = _decode(token, "access")
    if isinstance(claims.get("exp"), int):
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = claims
    return claims


def sign(claims: dict[str, Any], typ: str, ttl: timedelta | None = None) -> str:
    """A signed, purpose-typed token for things like event tickets (QR codes)."""
    payload = dict(claims, typ=typ, iat=int(utcnow().timestamp()))
    if ttl is not None:
        payload["exp"] = int((utcnow() + ttl).timestamp())
    return jwt.encode(payload, get_settings().jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def verify(token: str, typ: str) -> dict[str, Any]:
    return _decode(token, typ)


def _decode(token: str, typ: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            get_settings().jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            options={"require_iat": True},
        )
    except ExpiredSignatureError:
        raise errors.TokenExpired()
    except JWTError:
        raise errors.TokenInvalid()
    if claims.get("typ") != typ:
        raise errors.TokenInvalid()
    return claims
