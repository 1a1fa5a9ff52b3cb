"""Helpers that keep secrets out of dumps, cache keys and messages."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from pydantic import SecretBytes, SecretStr


def reveal_secrets(value: Any) -> Any:
    """Return `value` with every SecretStr and SecretBytes replaced by its clear value."""
    if isinstance(value, SecretStr | SecretBytes):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: reveal_secrets(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [reveal_secrets(item) for item in value]
    return value


def fingerprint_secrets(value: Any) -> Any:
    """Return `value` with every secret replaced by a slow salted digest of it.

    Two configurations that differ only by a password or token read different data, so their
    cache keys must differ; the digest is stable across processes. It is scrypt with a fixed
    salt, so a key never holds the secret, nor a hash of it that is cheap to brute-force.
    """
    if isinstance(value, SecretStr | SecretBytes):
        secret = value.get_secret_value()
        if not secret:
            return "<secret empty>"
        return f"<secret {_slow_digest(secret if isinstance(secret, bytes) else secret.encode())}>"
    if isinstance(value, dict):
        return {key: fingerprint_secrets(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(fingerprint_secrets(item) for item in value)
    if isinstance(value, list):
        return [fingerprint_secrets(item) for item in value]
    return value


_SALT = b"toucan-connectors/secret-fingerprint/v1"


@functools.lru_cache(maxsize=256)
def _slow_digest(secret: bytes) -> str:
    # About 50 ms once per secret and process: cheap for a cache key, costly for a guesser.
    return hashlib.scrypt(secret, salt=_SALT, n=2**14, r=8, p=1, dklen=16).hex()
