"""Tests of Standard Webhooks v1 signing and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from forge_tasks.errors import ConfigurationError, ForgeError, InputError
from forge_tasks.webhooks import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)

# Test vector of the Standard Webhooks JavaScript library ("sign function works").
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OUR_KEY = bytes(range(32))
OUR_SECRET = "whsec_" + base64.b64encode(OUR_KEY).decode()
OUR_MSG_ID = "evt_account-42_pair-ready"
OUR_TIMESTAMP = 1767225600
OUR_BODY = b'{"account_id":"account-42","event":"pair.ready"}'


def _headers(secret: str = OUR_SECRET, *, now: float = OUR_TIMESTAMP) -> dict[str, str]:
    return signed_headers(secret, OUR_MSG_ID, OUR_BODY, now=now)


def test_sign_matches_spec_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_verify_accepts_spec_vector() -> None:
    headers = {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)


def test_sign_matches_independent_hmac() -> None:
    content = f"{OUR_MSG_ID}.{OUR_TIMESTAMP}.".encode() + OUR_BODY
    digest = hmac.new(OUR_KEY, content, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()

    assert sign(OUR_SECRET, OUR_MSG_ID, OUR_TIMESTAMP, OUR_BODY) == expected


def test_signed_headers_contain_all_fields() -> None:
    headers = _headers(now=OUR_TIMESTAMP + 0.9)

    assert headers["webhook-id"] == OUR_MSG_ID
    assert headers["webhook-timestamp"] == str(OUR_TIMESTAMP)
    assert headers["webhook-signature"] == sign(
        OUR_SECRET, OUR_MSG_ID, OUR_TIMESTAMP, OUR_BODY
    )
    assert headers["content-type"] == "application/json"


def test_verify_accepts_own_signature() -> None:
    verify(OUR_SECRET, _headers(), OUR_BODY, now=OUR_TIMESTAMP)


def test_verify_matches_header_names_case_insensitively() -> None:
    headers = {name.title(): value for name, value in _headers().items()}

    verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


def test_verify_rejects_changed_body() -> None:
    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(OUR_SECRET, _headers(), OUR_BODY + b" ", now=OUR_TIMESTAMP)


def test_verify_rejects_wrong_secret() -> None:
    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(generate_secret(), _headers(), OUR_BODY, now=OUR_TIMESTAMP)


def test_verify_rejects_timestamp_301_s_old() -> None:
    with pytest.raises(WebhookVerificationError, match="more than 300 s"):
        verify(OUR_SECRET, _headers(), OUR_BODY, now=OUR_TIMESTAMP + 301)


def test_verify_rejects_timestamp_301_s_ahead() -> None:
    with pytest.raises(WebhookVerificationError, match="more than 300 s"):
        verify(OUR_SECRET, _headers(), OUR_BODY, now=OUR_TIMESTAMP - 301)


def test_verify_accepts_timestamp_300_s_off() -> None:
    verify(OUR_SECRET, _headers(), OUR_BODY, now=OUR_TIMESTAMP + 300)
    verify(OUR_SECRET, _headers(), OUR_BODY, now=OUR_TIMESTAMP - 300)


@pytest.mark.parametrize(
    "header", ["webhook-id", "webhook-timestamp", "webhook-signature"]
)
def test_verify_rejects_missing_header(header: str) -> None:
    headers = _headers()
    del headers[header]

    with pytest.raises(
        WebhookVerificationError, match=f"missing webhook header '{header}'"
    ):
        verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["", "1.5", "-1", " 1767225600", "1_767_225_600"])
def test_verify_rejects_non_integer_timestamp(timestamp: str) -> None:
    headers = _headers()
    headers["webhook-timestamp"] = timestamp

    with pytest.raises(WebhookVerificationError):
        verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


def test_verify_accepts_one_valid_of_two_signatures() -> None:
    headers = _headers()
    stale = sign(generate_secret(), OUR_MSG_ID, OUR_TIMESTAMP, OUR_BODY)
    headers["webhook-signature"] = f"{stale} {headers['webhook-signature']}"

    verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


def test_verify_rejects_two_invalid_signatures() -> None:
    headers = _headers()
    first = sign(generate_secret(), OUR_MSG_ID, OUR_TIMESTAMP, OUR_BODY)
    second = sign(generate_secret(), OUR_MSG_ID, OUR_TIMESTAMP, OUR_BODY)
    headers["webhook-signature"] = f"{first} {second}"

    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


def test_verify_ignores_other_signature_versions() -> None:
    headers = _headers()
    digest = headers["webhook-signature"].removeprefix("v1,")
    headers["webhook-signature"] = f"v1a,{digest}"

    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_not base64!",
        "whsec_",
        "whsec_" + base64.b64encode(bytes(23)).decode(),
    ],
)
def test_sign_rejects_malformed_secret(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid webhook secret"):
        sign(secret, OUR_MSG_ID, OUR_TIMESTAMP, OUR_BODY)


def test_verify_rejects_malformed_secret() -> None:
    with pytest.raises(ConfigurationError, match="invalid webhook secret"):
        verify("whsec_%%%", _headers(), OUR_BODY, now=OUR_TIMESTAMP)


def test_sign_rejects_id_with_full_stop() -> None:
    with pytest.raises(InputError, match="must not contain"):
        sign(OUR_SECRET, "msg.1", OUR_TIMESTAMP, OUR_BODY)


def test_verify_rejects_id_with_full_stop() -> None:
    headers = _headers()
    headers["webhook-id"] = "msg.1"

    with pytest.raises(WebhookVerificationError, match="must not contain"):
        verify(OUR_SECRET, headers, OUR_BODY, now=OUR_TIMESTAMP)


def test_generate_secret_wraps_32_random_bytes() -> None:
    secret = generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert generate_secret() != secret


def test_verification_error_is_a_forge_error() -> None:
    assert issubclass(WebhookVerificationError, ForgeError)
