"""Operators: their names, passwords and notes, checked the same way by the CLI, the
dashboard and the database (migration 0019 holds the same rules, so a value one
accepts the others accept too).

Passwords are hashed with argon2id (argon2-cffi, its RFC 9106 low-memory profile:
64 MiB, 3 passes), which a Raspberry Pi 4 checks in well under a second; the hash
carries its parameters, so raising them later keeps old hashes valid until the
next password change.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ksys_app.domain.inputs import InputError, preview

NAME_RE = re.compile(r"[a-z][a-z0-9._-]{0,31}")
MAX_DISPLAY_NAME = 64
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a login form from being a hashing service
MAX_NOTE = 1000
SHELVE_MINUTES = (15, 60, 240, 480)  # what the shelve control offers, within the database's maximum

_HASHER = PasswordHasher()
# checked against when the name is unknown, so that a login takes as long either way
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def operator_name(value: object) -> str:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        shown = preview(value) if isinstance(value, str) else type(value).__name__
        raise InputError(f"an operator name is 1-32 characters: a lowercase letter, then lowercase letters, digits, "
                         f"'.', '_' or '-' (got {shown})")
    return value


def display_name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_DISPLAY_NAME or not value.isprintable():
        raise InputError(f"a display name is 1-{MAX_DISPLAY_NAME} printable characters")
    return value.strip()


def password(value: object) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise InputError(f"a password is {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return value


def note(value: object) -> str | None:
    """A note to an action: at most MAX_NOTE characters, no control characters but line
    breaks and tabs; blank means none. Text, shown as text: markup in it stays markup."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"a note must be text, got {type(value).__name__}")
    if len(value) > MAX_NOTE:
        raise InputError(f"a note may be at most {MAX_NOTE} characters (this one has {len(value)})")
    if any(not (ch.isprintable() or ch in "\n\t") for ch in value):
        raise InputError("a note may not hold control characters")
    return value.strip() or None


def hash_password(plain: str) -> str:
    return _HASHER.hash(password(plain))


def password_matches(stored_hash: str | None, plain: str) -> bool:
    """Whether `plain` is the password of `stored_hash` (None: unknown operator, checked
    against a dummy so the answer takes as long)."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, plain) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
