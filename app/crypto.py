"""Field encryption (AES-256-GCM), keyed hashes, password hashing and opaque-token hashing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import get_settings

_VERSION = "v1"


@lru_cache(maxsize=4)
def _keys(raw_b64: str) -> tuple[AESGCM, bytes]:
    master = base64.b64decode(raw_b64)
    # Separate keys for encryption and for lookup hashes, derived from the one configured secret.
    enc = hmac.new(master, b"youth/field-encryption", hashlib.sha256).digest()
    mac = hmac.new(master, b"youth/lookup-hash", hashlib.sha256).digest()
    return AESGCM(enc), mac


def _current() -> tuple[AESGCM, bytes]:
    return _keys(get_settings().field_key.get_secret_value())


def encrypt(plaintext: str, purpose: str) -> str:
    """Encrypt with a random nonce; ``purpose`` is bound as associated data so a ciphertext
    copied into another column does not decrypt."""
    aes, _ = _current()
    nonce = os.urandom(12)
    ct = aes.encrypt(nonce, plaintext.encode(), purpose.encode())
    return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + ct).decode()}"


def decrypt(token: str, purpose: str) -> str:
    aes, _ = _current()
    version, _, body = token.partition(":")
    if version != _VERSION:
        raise ValueError("unknown ciphertext version")
    raw = base64.urlsafe_b64decode(body)
    try:
        return aes.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except InvalidTag as exc:
        raise ValueError("ciphertext does not verify") from exc


def lookup_hash(value: str, purpose: str) -> str:
    """Deterministic keyed hash for uniqueness checks on encrypted values."""
    _, mac = _current()
    return hmac.new(mac, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """Opaque tokens (refresh tokens) are high-entropy, so a plain SHA-256 is enough to store."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


@lru_cache(maxsize=2)
def _hasher(env: str) -> tuple[PasswordHasher, str]:
    # The test suite creates hundreds of accounts; it uses argon2id with the minimum cost so that the
    # same code path runs in seconds. Every other environment uses the library's recommended profile.
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if env == "test" else PasswordHasher()
    # Verifying against a dummy keeps the time of "no such user" close to "wrong password".
    return hasher, hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher(get_settings().env)[0].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher, dummy = _hasher(get_settings().env)
    try:
        return hasher.verify(password_hash or dummy, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# argon2 takes tens of milliseconds of CPU and releases the GIL: run it in a few threads of its own, so
# that a burst of sign-ups or logins neither stalls the event loop nor takes every core (more callers
# queue for a thread, waiting asynchronously).
_pool: ThreadPoolExecutor | None = None


def _password_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(1, get_settings().password_hash_threads),
                                   thread_name_prefix="password-hash")
    return _pool


async def hash_password_async(password: str) -> str:
    """``hash_password`` in the password threads: what request handlers call."""
    return await asyncio.get_running_loop().run_in_executor(_password_pool(), hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in the password threads: what request handlers call."""
    return await asyncio.get_running_loop().run_in_executor(_password_pool(), verify_password, password_hash,
                                                            password)
