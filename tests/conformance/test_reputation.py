"""Reputation and automatic pausing (issue 6 item 6; docs/reputation.md): bounce rates crossing
the pause threshold pause the account (G-86, G-87) or a configuration set with reputation
metrics (G-88), sends then fail with SES's errors (Q-244), `GetAccount` shows the state
(`SendingEnabled`, `EnforcementStatus`, G-15/Z-8), and the account's own calls resume sending
(`PutAccountSendingAttributes`, `UpdateConfigurationSetSendingEnabled`; `LastFreshStart`,
G-80/Q-246).

These tests run their own `sesame serve` (SQLite in its own data dir) with a low minimum volume,
an evaluation every second and `SESAME_REPUTATION_COUNT_SIMULATOR=true`, so that real Bounce
events from `bounce@simulator.amazonses.com` count (by default they never do, E-82)."""

import datetime
import json
import time
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import _SERVERS, Server, create_account, err, unique

SIMPLE = {"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}}}
V1_MESSAGE = {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}}
BOUNCE = "bounce@simulator.amazonses.com"
SUCCESS = "success@simulator.amazonses.com"


@pytest.fixture(scope="module")
def rep_server(tmp_path_factory):
    data = Path(tmp_path_factory.mktemp("sesame-reputation")) / "data"
    data.mkdir()
    s = Server(data)
    s.env.pop("SESAME_DATABASE_URL", None)
    s.env.update(
        SESAME_REPUTATION_COUNT_SIMULATOR="true",
        SESAME_REPUTATION_MINIMUM_VOLUME="5",
        SESAME_REPUTATION_EVALUATION_SECONDS="1",
    )
    s.start()
    _SERVERS.append(s)
    yield s
    s.stop()


def production_sender(server):
    """A production account (fast send rate) with a verified domain."""
    acct = create_account(server)
    domain = f"{unique('d')}.example.test"
    acct.ses.verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    server.cli("account", "production", "--account", acct.account_id)
    server.cli("account", "set-quota", "--account", acct.account_id, "--max-send-rate", "1000")
    return acct, domain


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def metrics_text(server):
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=10) as r:
        return r.read().decode()


def send(acct, domain, to, configuration_set=None):
    kw = {"ConfigurationSetName": configuration_set} if configuration_set else {}
    return acct.sesv2.send_email(
        FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": [to]}, Content=SIMPLE, **kw
    )["MessageId"]


def test_bounce_threshold_pauses_the_account_and_resume_works(rep_server):
    """G-76 (pause at ≥ 10 % hard bounces), G-86/G-87 (PauseSending: SendingEnabled false, every
    send refused: v2 SendingPausedException 400 "Account is paused", v1
    AccountSendingPausedException), Z-8/Q-242 (EnforcementStatus PROBATION), Q-243 (the
    account resumes with PutAccountSendingAttributes / UpdateAccountSendingEnabled), and a
    resume is a fresh start for pausing (the same old bounces do not pause it again)."""
    acct, domain = production_sender(rep_server)
    v2, v1 = acct.sesv2, acct.ses
    a = v2.get_account()
    assert (a["SendingEnabled"], a["EnforcementStatus"]) == (True, "HEALTHY")

    for _ in range(5):
        send(acct, domain, BOUNCE)
    wait_for("the account to be paused", lambda: not v2.get_account()["SendingEnabled"])

    a = v2.get_account()
    assert (a["SendingEnabled"], a["EnforcementStatus"]) == (False, "PROBATION")
    assert v1.get_account_sending_enabled()["Enabled"] is False
    with pytest.raises(ClientError) as ei:
        send(acct, domain, SUCCESS)
    assert err(ei) == ("SendingPausedException", 400, "Account is paused")
    with pytest.raises(ClientError) as ei:
        v1.send_email(Source=f"a@{domain}", Destination={"ToAddresses": [SUCCESS]}, Message=V1_MESSAGE)
    assert err(ei) == ("AccountSendingPausedException", 400, "Account is paused")

    # The operator's view: the same verdict, on demand.
    out = rep_server.cli("account", "reputation", "--account", acct.account_id, "--region", "us-east-1", "--json")
    report = json.loads(out.stdout)[0]
    assert report["account"]["rates"]["bounce_rate"] == 1.0
    assert report["account"]["rates"]["bounce_status"] == "Sending pause"
    assert report["account"]["sending_enabled"] is False
    assert [h["change"] for h in report["account"]["history"]] == ["UnderReview", "SendingPaused"]

    # G-77, G-Y: the rate is published on /metrics as a fraction.
    line = (
        f'ses_reputation_bounce_rate{{account_id="{acct.account_id}",region="us-east-1",'
        f'scope="account",configuration_set=""}} 1.0'
    )
    wait_for("the bounce-rate gauge", lambda: line in metrics_text(rep_server).splitlines())

    v2.put_account_sending_attributes(SendingEnabled=True)
    assert v2.get_account()["SendingEnabled"] is True
    send(acct, domain, SUCCESS)
    time.sleep(2.5)  # two evaluations: the resume sticks
    a = v2.get_account()
    assert a["SendingEnabled"] is True
    # The published rates still cover the whole window: still under review.
    assert a["EnforcementStatus"] == "PROBATION"

    # v1 pause/resume round trip (G-87).
    v1.update_account_sending_enabled(Enabled=False)
    with pytest.raises(ClientError) as ei:
        send(acct, domain, SUCCESS)
    assert err(ei)[:2] == ("SendingPausedException", 400)
    v1.update_account_sending_enabled(Enabled=True)
    send(acct, domain, SUCCESS)


def test_bounce_threshold_pauses_a_configuration_set_with_reputation_metrics(rep_server):
    """G-88/Q-244: a set with reputation metrics whose own bounce rate reaches 10 % is paused
    (v2 SendingPausedException "Configuration set sending paused", v1
    ConfigurationSetSendingPausedException); the account and other sets keep sending;
    DescribeConfigurationSet shows ReputationOptions.SendingEnabled false; re-enabling sets
    LastFreshStart (G-80, Q-246) and the set's old bounces no longer count."""
    acct, domain = production_sender(rep_server)
    v2, v1 = acct.sesv2, acct.ses
    cs, other = unique("cs"), unique("cs")
    v2.create_configuration_set(ConfigurationSetName=cs, ReputationOptions={"ReputationMetricsEnabled": True})
    v2.create_configuration_set(ConfigurationSetName=other)
    # Good mail first, so the account as a whole stays below the pause threshold (5 / 65).
    for _ in range(3):
        acct.sesv2.send_email(
            FromEmailAddress=f"a@{domain}",
            Destination={"ToAddresses": [f"success+{i}@simulator.amazonses.com" for i in range(20)]},
            Content=SIMPLE,
        )
    for _ in range(5):
        send(acct, domain, BOUNCE, cs)

    def paused():
        o = v1.describe_configuration_set(ConfigurationSetName=cs, ConfigurationSetAttributeNames=["reputationOptions"])
        return not o["ReputationOptions"]["SendingEnabled"]

    wait_for("the configuration set to be paused", paused)
    o = v1.describe_configuration_set(ConfigurationSetName=cs, ConfigurationSetAttributeNames=["reputationOptions"])
    assert o["ReputationOptions"]["ReputationMetricsEnabled"] is True
    assert "LastFreshStart" not in o["ReputationOptions"]

    with pytest.raises(ClientError) as ei:
        send(acct, domain, SUCCESS, cs)
    assert err(ei) == ("SendingPausedException", 400, "Configuration set sending paused")
    with pytest.raises(ClientError) as ei:
        v1.send_email(
            Source=f"a@{domain}", Destination={"ToAddresses": [SUCCESS]}, Message=V1_MESSAGE, ConfigurationSetName=cs
        )
    assert err(ei)[:2] == ("ConfigurationSetSendingPausedException", 400)
    # G-88: account-wide sending and other sets are not affected.
    send(acct, domain, SUCCESS)
    send(acct, domain, SUCCESS, other)
    a = v2.get_account()
    assert a["SendingEnabled"] is True
    # 5 / 67 ≥ 5 %: review, not pause. The account may be judged in the evaluation after the
    # one that paused the set (bounces land while an evaluation runs), so wait for it.
    wait_for("the account to be on probation", lambda: v2.get_account()["EnforcementStatus"] == "PROBATION")
    assert v2.get_account()["SendingEnabled"] is True
    assert v2.get_configuration_set(ConfigurationSetName=other)["SendingOptions"]["SendingEnabled"] is True

    # G-77: the set's own rate, with the set as a label (scope configuration_set).
    prefix = (
        f'ses_reputation_bounce_rate{{account_id="{acct.account_id}",region="us-east-1",'
        f'scope="configuration_set",configuration_set="{cs}"}} '
    )
    wait_for("the set's bounce-rate gauge", lambda: any(l.startswith(prefix) for l in metrics_text(rep_server).splitlines()))
    assert not any(f'configuration_set="{other}"' in l for l in metrics_text(rep_server).splitlines())

    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    v1.update_configuration_set_sending_enabled(ConfigurationSetName=cs, Enabled=True)
    o = v1.describe_configuration_set(ConfigurationSetName=cs, ConfigurationSetAttributeNames=["reputationOptions"])
    assert o["ReputationOptions"]["SendingEnabled"] is True
    assert o["ReputationOptions"]["LastFreshStart"] >= before
    g = v2.get_configuration_set(ConfigurationSetName=cs)
    assert g["SendingOptions"]["SendingEnabled"] is True
    assert g["ReputationOptions"]["LastFreshStart"] >= before
    send(acct, domain, SUCCESS, cs)
    time.sleep(2.5)  # two evaluations: the old bounces are before LastFreshStart
    assert v2.get_configuration_set(ConfigurationSetName=cs)["SendingOptions"]["SendingEnabled"] is True
    send(acct, domain, SUCCESS, cs)

    # v2 PutConfigurationSetSendingOptions pauses and resumes the same way.
    v2.put_configuration_set_sending_options(ConfigurationSetName=cs, SendingEnabled=False)
    with pytest.raises(ClientError) as ei:
        send(acct, domain, SUCCESS, cs)
    assert err(ei)[:2] == ("SendingPausedException", 400)
    v2.put_configuration_set_sending_options(ConfigurationSetName=cs, SendingEnabled=True)
    send(acct, domain, SUCCESS, cs)


def events_of(server, acct, message_id):
    out = server.cli("events", "--message-id", message_id, "--account", acct.account_id, "--json")
    return [e["event_type"] for e in json.loads(out.stdout or "[]")]


def test_send_statistics_count_attempts_and_hard_bounces_not_simulator_mail(server):
    """G-16/G-17/H-30/Q-248 with E-82 (shared server, default settings): a real recipient is a
    delivery attempt; a recipient on the account suppression list is an attempt and a hard
    bounce (`Permanent`/`OnAccountSuppressionList`, A-71); a mailbox-simulator recipient is
    neither, and neither is its bounce. Points are 15-minute aligned and ascending."""
    acct = create_account(server)
    domain = f"{unique('d')}.example.test"
    acct.ses.verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    server.cli("account", "production", "--account", acct.account_id)
    suppressed = f"{unique('s')}@example.net"
    acct.sesv2.put_suppressed_destination(EmailAddress=suppressed, Reason="BOUNCE")
    sim = send(acct, domain, BOUNCE)
    sup = send(acct, domain, suppressed)
    send(acct, domain, "x@example.invalid")
    wait_for("the simulator bounce", lambda: "Bounce" in events_of(server, acct, sim))
    wait_for("the suppression-list bounce", lambda: "Bounce" in events_of(server, acct, sup))
    points = acct.ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 2, points
    assert sum(p["Bounces"] for p in points) == 1, points
    assert sum(p["Complaints"] + p["Rejects"] for p in points) == 0, points
    stamps = [p["Timestamp"] for p in points]
    assert stamps == sorted(stamps)
    for t in stamps:
        assert t.minute % 15 == 0 and t.second == 0 and t.microsecond == 0


def test_operator_shutdown_cannot_be_lifted_by_the_account(server):
    """G-89, Q-243: an enforcement pause (operator `sesame account enforcement --status
    SHUTDOWN`) refuses every send (Q-244: v2 SendingPausedException "Account is paused", v1
    AccountSendingPausedException); the account's own PutAccountSendingAttributes succeeds but
    GetAccount.SendingEnabled stays false; only the operator lifts it."""
    acct = create_account(server)
    domain = f"{unique('d')}.example.test"
    acct.ses.verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    server.cli("account", "production", "--account", acct.account_id)
    v2, v1 = acct.sesv2, acct.ses
    server.cli("account", "enforcement", "--account", acct.account_id, "--status", "SHUTDOWN", "--reason", "test")
    a = v2.get_account()
    assert (a["SendingEnabled"], a["EnforcementStatus"]) == (False, "SHUTDOWN")
    with pytest.raises(ClientError) as ei:
        send(acct, domain, SUCCESS)
    assert err(ei) == ("SendingPausedException", 400, "Account is paused")
    v2.put_account_sending_attributes(SendingEnabled=True)
    v1.update_account_sending_enabled(Enabled=True)
    assert v2.get_account()["SendingEnabled"] is False
    assert v1.get_account_sending_enabled()["Enabled"] is False
    with pytest.raises(ClientError) as ei:
        v1.send_email(Source=f"a@{domain}", Destination={"ToAddresses": [SUCCESS]}, Message=V1_MESSAGE)
    assert err(ei) == ("AccountSendingPausedException", 400, "Account is paused")
    bad = server.cli("account", "enforcement", "--account", acct.account_id, "--status", "PAUSED", check=False)
    assert bad.returncode != 0
    server.cli("account", "enforcement", "--account", acct.account_id, "--status", "HEALTHY")
    time.sleep(1.2)  # operator changes reach the send path within its 1 s settings cache
    a = v2.get_account()
    assert (a["SendingEnabled"], a["EnforcementStatus"]) == (True, "HEALTHY")
    send(acct, domain, SUCCESS)
