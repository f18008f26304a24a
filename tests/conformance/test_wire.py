"""Wire envelopes: not-implemented operations, v1 Query errors (Q-3), v2 error envelope (Q-4),
request ids (Q-12)."""

import json
import re

import pytest
from botocore.exceptions import ClientError

from conftest import err, unique
from wire import FORM, send

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_v2_not_implemented(v2):
    """Unimplemented v2 operation → NotImplementedException, HTTP 501, message naming the operation.
    (GetDeliverabilityDashboardOptions: the legacy deliverability dashboard is out of scope, F/Z-7.)"""
    with pytest.raises(ClientError) as ei:
        v2.get_deliverability_dashboard_options()
    code, status, msg = err(ei)
    assert (code, status) == ("NotImplementedException", 501)
    assert "GetDeliverabilityDashboardOptions" in msg


def test_v1_not_implemented(v1):
    """Unimplemented v1 operation → NotImplemented, HTTP 501, message naming the operation."""
    with pytest.raises(ClientError) as ei:
        v1.create_receipt_rule_set(RuleSetName=unique("rs"))
    code, status, msg = err(ei)
    assert (code, status) == ("NotImplemented", 501)
    assert "CreateReceiptRuleSet" in msg


def test_v2_not_implemented(v2):
    """GetDeliverabilityDashboardOptions (out of scope, spec F Z-7) → NotImplementedException
    501 naming the operation."""
    with pytest.raises(ClientError) as ei:
        v2.get_deliverability_dashboard_options()
    code, status, msg = err(ei)
    assert (code, status) == ("NotImplementedException", 501)
    assert "GetDeliverabilityDashboardOptions" in msg


def test_v1_unknown_action(account_a, server):
    """Q-3: a signed POST with Action=Bogus → 400 InvalidAction in an XML ErrorResponse with RequestId."""
    r = send(
        "POST",
        server.endpoint + "/",
        body=b"Action=Bogus&Version=2010-12-01",
        headers=FORM,
        sign_with=(account_a.access_key_id, account_a.secret_access_key),
    )
    assert r.status == 400, r.text
    assert r.text.lstrip().startswith("<") and "<ErrorResponse" in r.text
    assert 'xmlns="http://ses.amazonaws.com/doc/2010-12-01/"' in r.text
    assert "<Code>InvalidAction</Code>" in r.text
    assert "<Type>Sender</Type>" in r.text
    rid = re.search(r"<RequestId>([^<]+)</RequestId>", r.text).group(1)
    assert rid == r.headers["x-amzn-RequestId"]


def test_v1_get_query_string(account_a, server):
    """Q-3: v1 also accepts GET with the parameters in the query string."""
    r = send(
        "GET",
        server.endpoint + "/?Action=GetSendQuota&Version=2010-12-01",
        sign_with=(account_a.access_key_id, account_a.secret_access_key),
    )
    assert r.status == 200, r.text
    assert "<GetSendQuotaResponse" in r.text and "<GetSendQuotaResult>" in r.text
    assert "<Max24HourSend>" in r.text


def test_v1_bad_version(account_a, server):
    """Q-3: Version other than 2010-12-01 → 400 error."""
    r = send(
        "POST",
        server.endpoint + "/",
        body=b"Action=GetSendQuota&Version=2099-01-01",
        headers=FORM,
        sign_with=(account_a.access_key_id, account_a.secret_access_key),
    )
    assert r.status == 400, r.text
    assert "<ErrorResponse" in r.text


def test_v1_success_envelope(account_a, server):
    """Q-3/Q-12: <{Op}Response xmlns><{Op}Result/><ResponseMetadata><RequestId/> matching the header."""
    r = send(
        "POST",
        server.endpoint + "/",
        body=b"Action=ListIdentities&Version=2010-12-01",
        headers=FORM,
        sign_with=(account_a.access_key_id, account_a.secret_access_key),
    )
    assert r.status == 200
    assert '<ListIdentitiesResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">' in r.text
    assert "<ListIdentitiesResult>" in r.text
    rid = re.search(r"<ResponseMetadata>\s*<RequestId>([^<]+)</RequestId>", r.text).group(1)
    assert rid == r.headers["x-amzn-RequestId"]
    assert UUID_RE.match(rid)


def test_v2_error_envelope(account_a, server):
    """Q-4: v2 error: model status, header x-amzn-ErrorType, body {"__type","message"}."""
    r = send(
        "GET",
        server.endpoint + f"/v2/email/identities/{unique()}.missing.test",
        sign_with=(account_a.access_key_id, account_a.secret_access_key),
    )
    assert r.status == 404
    assert r.headers["x-amzn-ErrorType"].split(":")[0] == "NotFoundException"
    body = json.loads(r.body)
    assert body["__type"] == "NotFoundException"
    assert body["message"]


def test_request_id_on_every_response(v2, v1):
    """Q-12: x-amzn-RequestId (UUIDv4) on v1/v2 successes and errors; distinct per request."""
    ids = []
    r = v2.get_account()
    ids.append(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
    r = v1.get_send_quota()
    ids.append(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
    assert r["ResponseMetadata"]["RequestId"] == ids[-1]
    with pytest.raises(ClientError) as ei:
        v2.get_email_identity(EmailIdentity=f"{unique()}.missing.test")
    ids.append(ei.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
    with pytest.raises(ClientError) as ei:
        v1.create_receipt_rule_set(RuleSetName=unique("rs"))
    ids.append(ei.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
    for i in ids:
        assert UUID_RE.match(i), i
    assert len(set(ids)) == len(ids)


def test_request_id_on_auth_errors(server):
    """Q-12: even an unauthenticated request gets x-amzn-RequestId."""
    r = send("POST", server.endpoint + "/", body=b"Action=ListIdentities", headers=FORM)
    assert UUID_RE.match(r.headers["x-amzn-RequestId"])
