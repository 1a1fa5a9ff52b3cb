"""Helpers that keep secrets out of dumps, cache keys and messages."""

from __future__ import annotations

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
    """Return `value` with every secret replaced by a marker of its presence.

    Nothing derived from a secret's value is kept: even a salted hash of a short password can be
    brute-forced from a cache key. Results do not depend on which password reached the provider,
    so a cache key need not either.
    """
    if isinstance(value, SecretStr | SecretBytes):
        return "<secret set>" if value.get_secret_value() else "<secret empty>"
    if isinstance(value, dict):
        return {key: fingerprint_secrets(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fingerprint_secrets(item) for item in value]
    return value
