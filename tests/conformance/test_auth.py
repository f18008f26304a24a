"""SigV4 authentication (DECISIONS Q-30, Q-31, Q-53; codes from Q-5)."""

import datetime
import json

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from conftest import err, unique
from wire import FORM, send


def _both(account, **overrides):
    return account.client("sesv2", **overrides), account.client("ses", **overrides)


def test_wrong_secret(account_a):
    """Q-30 bad signature: v2 InvalidSignatureException 403, v1 SignatureDoesNotMatch 403."""
    v2, v1 = _both(account_a, aws_secret_access_key="wrong" + account_a.secret_access_key[5:])
    with pytest.raises(ClientError) as ei:
        v2.list_email_identities()
    assert err(ei)[:2] == ("InvalidSignatureException", 403)
    with pytest.raises(ClientError) as ei:
        v1.list_identities()
    assert err(ei)[:2] == ("SignatureDoesNotMatch", 403)


def test_unknown_access_key(account_a):
    """Q-30 unknown key: v2 UnrecognizedClientException 403, v1 InvalidClientTokenId 403."""
    v2, v1 = _both(account_a, aws_access_key_id="AKIA" + "Z" * 16)
    with pytest.raises(ClientError) as ei:
        v2.get_account()
    code, status, msg = err(ei)
    assert (code, status) == ("UnrecognizedClientException", 403)
    assert "security token included in the request is invalid" in msg
    with pytest.raises(ClientError) as ei:
        v1.get_send_quota()
    assert err(ei)[:2] == ("InvalidClientTokenId", 403)


def test_session_token_rejected(account_a):
    """Q-31: a request with X-Amz-Security-Token (valid key otherwise) → same as an unknown key."""
    v2, v1 = _both(account_a, aws_session_token="FwoGZXIvYXdzEXAMPLETOKEN")
    with pytest.raises(ClientError) as ei:
        v2.get_account()
    assert err(ei)[:2] == ("UnrecognizedClientException", 403)
    with pytest.raises(ClientError) as ei:
        v1.get_send_quota()
    assert err(ei)[:2] == ("InvalidClientTokenId", 403)


def test_region_not_served(account_a):
    """Q-53: credential scope region not configured (eu-west-1) → 403 signature error naming the region."""
    v2, v1 = _both(account_a, region_name="eu-west-1")
    with pytest.raises(ClientError) as ei:
        v2.get_account()
    code, status, msg = err(ei)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "eu-west-1" in msg
    with pytest.raises(ClientError) as ei:
        v1.get_send_quota()
    code, status, msg = err(ei)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "Credential should be scoped to a valid region" in msg


@pytest.fixture
def skewed_clock(monkeypatch):
    """botocore's signer reads the time from botocore.auth.get_current_datetime."""
    real = botocore.auth.get_current_datetime

    def skewed(*a, **kw):
        return real(*a, **kw) - datetime.timedelta(minutes=20)

    monkeypatch.setattr(botocore.auth, "get_current_datetime", skewed)


def test_request_time_skew(account_a, skewed_clock):
    """Q-30: X-Amz-Date 20 minutes off (> 15 min) → 403 'Signature expired'
    (v2 InvalidSignatureException; v1 SignatureDoesNotMatch as AWS answers — Q-30 text names
    RequestExpired, see the report)."""
    v2, v1 = _both(account_a)
    with pytest.raises(ClientError) as ei:
        v2.get_account()
    code, status, msg = err(ei)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "Signature expired" in msg
    with pytest.raises(ClientError) as ei:
        v1.get_send_quota()
    code, status, msg = err(ei)
    assert status == 403
    assert code == "SignatureDoesNotMatch"
    assert "Signature expired" in msg


def test_unsigned_requests(server):
    """Q-5: no Authorization at all → v2 MissingAuthenticationTokenException, v1 MissingAuthenticationToken (403)."""
    r = send("GET", server.endpoint + "/v2/email/account")
    assert r.status == 403
    assert r.headers["x-amzn-ErrorType"].split(":")[0] == "MissingAuthenticationTokenException"
    assert json.loads(r.body)["__type"] == "MissingAuthenticationTokenException"
    assert r.headers.get("x-amzn-RequestId")
    r = send("POST", server.endpoint + "/", body=b"Action=GetSendQuota&Version=2010-12-01", headers=FORM)
    assert r.status == 403
    assert "<Code>MissingAuthenticationToken</Code>" in r.text
    assert "<ErrorResponse" in r.text


def test_signed_for_other_service(account_a, server):
    """Q-30: signing service must be `ses` (v1/v2) — a scope for `s3` → 403 signature error."""
    r = send(
        "GET",
        server.endpoint + "/v2/email/account",
        sign_with=(account_a.access_key_id, account_a.secret_access_key),
        service="s3",
    )
    assert r.status in (400, 403)
    assert json.loads(r.body)["__type"] in ("InvalidSignatureException", "IncompleteSignatureException")


def test_valid_raw_signed_request(account_a, server):
    """Control for the raw helpers: a correctly signed raw v2 GET works (200, JSON)."""
    r = send("GET", server.endpoint + "/v2/email/account", sign_with=(account_a.access_key_id, account_a.secret_access_key))
    assert r.status == 200, r.text
    assert "SendQuota" in json.loads(r.body)
