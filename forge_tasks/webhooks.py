"""Sign and verify COMPANION webhooks with the Standard Webhooks v1 scheme.

Standard Webhooks (github.com/standard-webhooks/standard-webhooks, the spec in
``spec/standard-webhooks.md``) signs ``"{webhook-id}.{webhook-timestamp}.{body}"``
with HMAC-SHA256 and sends the base64 digest as ``v1,<base64>`` in the
``webhook-signature`` header. That header may carry several space-separated
entries, so a sender can sign with an old and a new secret while keys rotate.
The secret is written ``whsec_<base64 key>``, and the HMAC key is the decoded
part, which the spec requires to be at least 24 random bytes.

Sign the exact bytes that go on the wire: a receiver that parses the JSON and
serialises it again before verifying will get a different digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from forge_tasks.errors import ConfigurationError, ForgeError, InputError

SECRET_PREFIX = "whsec_"
SECRET_KEY_BYTES = 32
MIN_SECRET_KEY_BYTES = 24
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class WebhookVerificationError(ForgeError):
    """Raised when a webhook's headers or signature fail verification."""


def generate_secret() -> str:
    """Return a new ``whsec_`` secret wrapping 32 random bytes."""
    key = secrets.token_bytes(SECRET_KEY_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of one message.

    Raises ConfigurationError when ``secret`` is not ``whsec_<base64>`` with a key
    of at least 24 bytes, and InputError when ``msg_id`` contains a full stop.
    """
    # With a full stop allowed in the id, "a.1" + "2" + "X" and "a" + "1" + "2.X"
    # would sign the same content, so one signature would fit two messages.
    if "." in msg_id:
        raise InputError(f"invalid webhook id {msg_id!r}: it must not contain '.'")
    key = _decode_secret(secret)
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed_content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signed_headers(
    secret: str, msg_id: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """Build the headers of one delivery attempt of a JSON ``body``.

    Pass the same ``msg_id`` on every retry of one event, so receivers can use it
    to drop duplicates. The timestamp is ``now`` (default: the current time) in
    whole Unix seconds and changes on every attempt.
    """
    timestamp = int(time.time() if now is None else now)
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Check that ``body`` and ``headers`` carry a valid, fresh ``v1`` signature.

    Header names are matched case-insensitively. The timestamp must lie within
    ``tolerance_s`` seconds of ``now`` (default: the current time) in either
    direction. Any one matching ``v1`` entry is enough, and entries of other
    versions are ignored. This function does not remember ``webhook-id`` values,
    so dropping replays inside the tolerance window is left to the caller.

    Raises WebhookVerificationError when a check fails (an id containing a full
    stop included), and ConfigurationError when ``secret`` is malformed.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = _require_header(lowered, HEADER_ID)
    timestamp_text = _require_header(lowered, HEADER_TIMESTAMP)
    signature_header = _require_header(lowered, HEADER_SIGNATURE)
    if "." in msg_id:
        raise WebhookVerificationError(
            f"invalid {HEADER_ID} header {msg_id!r}: it must not contain '.'"
        )

    timestamp = _parse_timestamp(timestamp_text)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError(
            f"webhook {msg_id}: timestamp {timestamp} is more than {tolerance_s} s "
            f"away from the current time {int(current)}"
        )

    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    # Compare every entry, without stopping at the first match, so the time taken
    # does not depend on which entry matches.
    matched = False
    for entry in signature_header.split():
        if not entry.startswith(SIGNATURE_VERSION + ","):
            continue
        if hmac.compare_digest(entry.encode("ascii", "replace"), expected):
            matched = True
    if not matched:
        raise WebhookVerificationError(
            f"webhook {msg_id}: no {SIGNATURE_VERSION} signature matches the body"
        )


def _decode_secret(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError(
            f"invalid webhook secret: it must start with {SECRET_PREFIX!r} "
            "followed by base64 (generate one with forge_tasks.webhooks.generate_secret)"
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ConfigurationError(
            f"invalid webhook secret: the part after {SECRET_PREFIX!r} is not "
            "valid base64"
        ) from exc
    if len(key) < MIN_SECRET_KEY_BYTES:
        raise ConfigurationError(
            f"invalid webhook secret: the key after {SECRET_PREFIX!r} is {len(key)} "
            f"bytes, shorter than the minimum of {MIN_SECRET_KEY_BYTES}"
        )
    return key


def _require_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise WebhookVerificationError(f"missing webhook header {name!r}")
    return value


def _parse_timestamp(text: str) -> int:
    # int() accepts surrounding spaces, a sign and underscores, but the header
    # must be plain decimal digits.
    if not text.isascii() or not text.isdigit():
        raise WebhookVerificationError(
            f"invalid {HEADER_TIMESTAMP} header {text!r}: expected integer Unix seconds"
        )
    return int(text)
