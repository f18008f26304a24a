"""Account operations (sesv2 GetAccount / PutAccountDetails / PutAccountSendingAttributes;
ses GetSendQuota / Get|UpdateAccountSendingEnabled) and the operator CLI
(`sesame account production`, `sesame account set-quota`) acting on a running server."""

import pytest

from conftest import create_account


@pytest.fixture
def fresh(server):
    """A new account per test: these tests change account-wide state."""
    return create_account(server)


def test_get_account_sandbox_defaults(fresh):
    """GetAccountResponse for a new account: sandbox (ProductionAccessEnabled false),
    SendQuota 200/1/0, SendingEnabled, SuppressedReasons [BOUNCE, COMPLAINT]."""
    a = fresh.sesv2.get_account()
    assert a["ProductionAccessEnabled"] is False
    assert a["SendingEnabled"] is True
    assert a["SendQuota"] == {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0}
    assert sorted(a["SuppressionAttributes"]["SuppressedReasons"]) == ["BOUNCE", "COMPLAINT"]
    assert a["EnforcementStatus"] == "HEALTHY"
    assert a["DedicatedIpAutoWarmupEnabled"] in (True, False)
    assert "Details" not in a


def test_v1_get_send_quota(fresh):
    """GetSendQuotaResponse (v1 XML, doubles): 200 / 1 / 0 for a sandbox account."""
    q = fresh.ses.get_send_quota()
    assert q["Max24HourSend"] == 200.0
    assert q["MaxSendRate"] == 1.0
    assert q["SentLast24Hours"] == 0.0


def test_sending_enabled_v1_and_v2(fresh):
    """UpdateAccountSendingEnabled / GetAccountSendingEnabled (v1) and GetAccount.SendingEnabled (v2)
    read the same flag; PutAccountSendingAttributes (v2) writes it."""
    v1, v2 = fresh.ses, fresh.sesv2
    assert v1.get_account_sending_enabled()["Enabled"] is True
    v1.update_account_sending_enabled(Enabled=False)
    assert v1.get_account_sending_enabled()["Enabled"] is False
    assert v2.get_account()["SendingEnabled"] is False
    v2.put_account_sending_attributes(SendingEnabled=True)
    assert v1.get_account_sending_enabled()["Enabled"] is True


def test_suppression_attributes(fresh):
    """PutAccountSuppressionAttributes → GetAccount.SuppressionAttributes.SuppressedReasons."""
    v2 = fresh.sesv2
    v2.put_account_suppression_attributes(SuppressedReasons=["BOUNCE"])
    assert v2.get_account()["SuppressionAttributes"]["SuppressedReasons"] == ["BOUNCE"]
    v2.put_account_suppression_attributes(SuppressedReasons=[])
    assert v2.get_account()["SuppressionAttributes"].get("SuppressedReasons", []) == []


def test_production_access_request_then_operator_grant(fresh, server):
    """PutAccountDetails(ProductionAccessEnabled) → Details.ReviewDetails.Status PENDING;
    `sesame account production` (Q-237, while the server runs) → ProductionAccessEnabled true,
    SendQuota 50000/14, review GRANTED."""
    v2 = fresh.sesv2
    v2.put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://example.com",
        ContactLanguage="EN",
        UseCaseDescription="receipts",
        AdditionalContactEmailAddresses=["ops@example.com"],
        ProductionAccessEnabled=True,
    )
    a = v2.get_account()
    assert a["ProductionAccessEnabled"] is False
    d = a["Details"]
    assert d["MailType"] == "TRANSACTIONAL"
    assert d["WebsiteURL"] == "https://example.com"
    assert d["ContactLanguage"] == "EN"
    assert d["AdditionalContactEmailAddresses"] == ["ops@example.com"]
    assert d["ReviewDetails"]["Status"] == "PENDING"
    assert d["ReviewDetails"]["CaseId"]

    server.cli("account", "production", "--account", fresh.account_id)
    a = v2.get_account()
    assert a["ProductionAccessEnabled"] is True
    assert a["SendQuota"]["Max24HourSend"] == 50000.0
    assert a["SendQuota"]["MaxSendRate"] == 14.0
    assert a["Details"]["ReviewDetails"]["Status"] == "GRANTED"
    q = fresh.ses.get_send_quota()
    assert (q["Max24HourSend"], q["MaxSendRate"]) == (50000.0, 14.0)


def test_put_account_details_bad_enum(fresh):
    """Q-8: MailType outside MARKETING|TRANSACTIONAL → BadRequestException."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as ei:
        fresh.sesv2.put_account_details(MailType="PROMOTIONAL", WebsiteURL="https://example.com")
    assert ei.value.response["Error"]["Code"] == "BadRequestException"
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_operator_set_quota(fresh, server):
    """`sesame account set-quota --max-24h-send 1234 --max-send-rate 7` → GetAccount.SendQuota and v1 GetSendQuota."""
    server.cli("account", "set-quota", "--account", fresh.account_id, "--max-24h-send", "1234", "--max-send-rate", "7")
    q = fresh.sesv2.get_account()["SendQuota"]
    assert (q["Max24HourSend"], q["MaxSendRate"]) == (1234.0, 7.0)
    q1 = fresh.ses.get_send_quota()
    assert (q1["Max24HourSend"], q1["MaxSendRate"]) == (1234.0, 7.0)
