"""Helpers that keep secrets out of dumps, cache keys and messages."""

from __future__ import annotations

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
    """Return `value` with every secret replaced by a digest, so no secret stays in clear."""
    if isinstance(value, SecretStr | SecretBytes):
        clear = value.get_secret_value()
        data = clear.encode() if isinstance(clear, str) else clear
        return "secret:" + hashlib.sha256(b"toucan-secret:" + data).hexdigest()
    if isinstance(value, dict):
        return {key: fingerprint_secrets(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fingerprint_secrets(item) for item in value]
    return value
