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


def create_access_token(*, user_id: int, role: str, version: int = 0) -> tuple[str, int]:
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
        "ver": version,  # the account's token_version: raising it ends this token (app.deps)
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
    claims = _decode(token, "access", required=_ACCESS_CLAIMS)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = claims
    return claims


# A token without an expiry would be valid forever; without a subject it names nobody.
_ACCESS_CLAIMS = ("exp", "iat", "sub")


def sign(claims: dict[str, Any], typ: str, ttl: timedelta | None = None) -> str:
    """A signed, purpose-typed token for things like event tickets (QR codes)."""
    payload = dict(claims, typ=typ, iat=int(utcnow().timestamp()))
    if ttl is not None:
        payload["exp"] = int((utcnow() + ttl).timestamp())
    return jwt.encode(payload, get_settings().jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def verify(token: str, typ: str) -> dict[str, Any]:
    return _decode(token, typ)


def _decode(token: str, typ: str, required: tuple[str, ...] = ("iat",)) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            get_settings().jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            options={f"require_{name}": True for name in required},
        )
    except ExpiredSignatureError:
        raise errors.TokenExpired()
    except JWTError:
        raise errors.TokenInvalid()
    if claims.get("typ") != typ:
        raise errors.TokenInvalid()
    # jose checks that the required claims are present, not their types.
    if "exp" in required and not isinstance(claims.get("exp"), int):
        raise errors.TokenInvalid()
    if "sub" in required and not (isinstance(claims.get("sub"), str) and claims["sub"].isascii() and claims["sub"].isdigit()):
        raise errors.TokenInvalid()
    return claims
