"""API key tokens: how they are made, hashed and recognised.

A token is ``vpk_<key id>_<secret>``: the key id (12 hex characters) is public and finds the row; the secret is
32 random bytes from :mod:`secrets` (256 bits, URL-safe base64). Only SHA-256 of the whole token is stored.
A fast hash is enough, and the right one here, because the token is high-entropy random data rather than a
password a person chose: nobody can guess 2^256 candidates, so a slow KDF (bcrypt, Argon2) would only add
latency to every API request without adding security. Verification compares digests with
:func:`hmac.compare_digest` (constant time), and hashes a dummy when the key id is unknown, so that timing tells
an attacker neither the secret nor whether a key id exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

TOKEN_PREFIX: Final = "vpk"
KEY_ID_BYTES: Final = 6
SECRET_BYTES: Final = 32
_TOKEN_RE: Final = re.compile(r"^vpk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DUMMY_HASH: Final = hashlib.sha256(b"vpostcode: no such key").hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (key id, plaintext token) pair."""
    key_id = secrets.token_hex(KEY_ID_BYTES)
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_token(token: str) -> str:
    """SHA-256 of the token, as 64 hex characters: the only form in which a key is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def key_id_of(token: object) -> str | None:
    """The key id inside a well-formed token, or None for anything else."""
    if not isinstance(token, str):
        return None
    match = _TOKEN_RE.match(token)
    return match.group(1) if match else None


def token_matches(token: str, stored_hash: str | None) -> bool:
    """Constant-time check of a token against a stored hash (a dummy hash when there is none)."""
    candidate = hash_token(token)
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    return hmac.compare_digest(candidate, expected) and stored_hash is not None
