"""Password hashing with Argon2id, its cost read from config when hashing, and the
strength check every new password passes (:func:`weakness`).

``PASSWORD_HASH_TIME_COST``, ``PASSWORD_HASH_MEMORY_COST`` (KiB) and
``PASSWORD_HASH_PARALLELISM`` default to argon2-cffi's production parameters; tests set
the cheapest ones. Every hash carries its own parameters, so hashes made under other
settings still verify, and :func:`needs_rehash` tells sign-in to re-hash them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

#: NIST SP 800-63B: at least this long, no composition rules, checked against common and
#: context-specific passwords (zxcvbn's lists and the user's own details).
MIN_LENGTH = 10
MAX_LENGTH = 500
#: zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable: moderate
#: protection from offline slow-hash scenario" (~10^8 guesses and more).
MIN_SCORE = 3
#: zxcvbn refuses longer input (its matching is quadratic); characters past this only add
#: strength, so the first ones are what is judged.
_JUDGED = 72
#: Control characters (C0, DEL, C1), NUL included: they cannot be typed reliably, and
#: PostgreSQL refuses NUL in text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: zxcvbn keeps the user inputs in a module-level dictionary while it matches; waitress
#: serves requests from threads, so one check at a time.
_ZXCVBN_LOCK = threading.Lock()

#: Verified against when the email is unknown (per parameter set), so the time a failed
#: sign-in takes does not reveal whether the account exists.
_dummy_hashes: dict[tuple[int, int, int], str] = {}


def hasher() -> PasswordHasher:
    """A hasher with the configured cost (cheap to build: it holds only the parameters)."""
    cfg = current_app.config
    return PasswordHasher(
        time_cost=int(cfg["PASSWORD_HASH_TIME_COST"]),
        memory_cost=int(cfg["PASSWORD_HASH_MEMORY_COST"]),
        parallelism=int(cfg["PASSWORD_HASH_PARALLELISM"]),
    )


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (no length rule here: see the user operations)."""
    return hasher().hash(password)


#: The ``password_hash`` of an account whose owner has not chosen a password yet (an
#: invited user): no password verifies against it.
NOT_SET = "!not-set"


def is_usable(password_hash: str | None) -> bool:
    """True when the account has a password (rather than :data:`NOT_SET` or nothing)."""
    return bool(password_hash) and not str(password_hash).startswith("!")


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing or unset hash still costs one
    verification (so timing does not tell an invited account from a real one)."""
    h = hasher()
    usable = is_usable(password_hash)
    try:
        target = password_hash if password_hash and usable else _dummy(h)
        return h.verify(target, password) and usable
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    return hasher().check_needs_rehash(password_hash)


def _dummy(h: PasswordHasher) -> str:
    key = (h.time_cost, h.memory_cost, h.parallelism)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = h.hash("not-a-real-password-0")
    return _dummy_hashes[key]


def _personal_words(user_inputs: Iterable[str]) -> list[str]:
    """The user's details and their parts (``jane.doe@example.com`` → ``jane.doe``,
    ``jane``, ``doe``, ``example``), plus the app's own name."""
    words = {"pitchfast"}
    for raw in user_inputs:
        text = (raw or "").strip().lower()
        if not text:
            continue
        words.add(text)
        local, _, domain = text.partition("@")
        words.update({local, domain.split(".")[0]} if domain else {local})
        words.update(w for w in re.split(r"[^a-z0-9]+", text) if len(w) >= 3)
    return sorted(w for w in words if w)


def weakness(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` may not be used, as a message to show, or None when it is fine.

    At least :data:`MIN_LENGTH` and at most :data:`MAX_LENGTH` characters, no control
    characters, and a zxcvbn score of at least :data:`MIN_SCORE` with the user's email
    and name as known words (so ``password12``, ``aaaaaaaaaa`` or the email's first part
    twice are refused). zxcvbn's own feedback says how to do better.
    """
    if _CONTROL.search(password):
        return "The password may not contain control characters (such as NUL or newlines)."
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters."
    with _ZXCVBN_LOCK:
        result = zxcvbn(password[:_JUDGED], user_inputs=_personal_words(user_inputs))
    if int(result["score"]) >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    hints = [str(feedback.get("warning") or "").strip()]
    hints += [str(s).strip() for s in feedback.get("suggestions") or []]
    advice = " ".join(h if h.endswith(".") else h + "." for h in hints if h)
    return ("This password is too easy to guess. "
            + (advice or "Add another word or two. Uncommon words are better."))
