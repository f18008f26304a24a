"""Account notices mailed to the account's contacts (DECISIONS Q-98, Q-100, Q-163; spec D-121,
H-158; docs/notices.md), against a real `sesame serve` in capture mode with unmodified boto3.

A real notice is triggered the way SES triggers it: an identity's Bounce SNS topic is deleted,
the next bounce makes the dispatcher remove the setting and store a `NOTIFICATION_TOPIC_REMOVED`
notice (Q-163), and the notice mailer sends it through Sesame's queue. The email is read from
the dev inbox (`GET /_aws/ses`, LocalStack's shape) and the notice's mailing state from
`sesame account notices --json`.

- to the `AdditionalContactEmailAddresses` set with v2 `PutAccountDetails`;
- to the operator's `SESAME_NOTICES_FALLBACK_ADDRESS` when the account has none;
- with neither, the notice stays stored, the server logs why once, and it is mailed as soon as
  the account sets a contact address.

Servers: 127.0.16.2 (with a fallback address), 127.0.16.4 (its twin) and 127.0.16.3 (without a
fallback, in eu-west-1). In a full run each has its own SQLite store: another server of the
suite delivers in smtp mode and would take the notice emails from a shared PostgreSQL queue.
`SESAME_NOTICES_CONFORMANCE_PG=1` puts the first two on the suite's PostgreSQL database, for
running this module alone on it; they are then two nodes of one deployment, and the twin test
checks that they mail each notice once. The server without a fallback is another deployment
(other settings, other regions) and keeps its own SQLite store even then: nodes sharing a
database must share their configuration.
"""

import json
import os
import time
import urllib.request

import pytest

from conftest import _SERVERS, Server, create_account, unique
from test_event_publishing import free_port

SIM = "simulator.amazonses.com"
FALLBACK = "notices@operator.example.net"
SERVICE_DOMAIN = "sesame.localhost"


def notice_server_at(tmp_path_factory, host, region, fallback=None, shared_pg=True):
    data = tmp_path_factory.mktemp(f"sesame-notices-{region}") / "data"
    data.mkdir()
    s = Server(data)
    if not (shared_pg and os.environ.get("SESAME_NOTICES_CONFORMANCE_PG")):
        s.env.pop("SESAME_DATABASE_URL", None)
    s.env["SESAME_HTTP_ADDR"] = f"{host}:{free_port(host)}"
    s.env["SESAME_DELIVERY_MODE"] = "capture"
    s.env["SESAME_REGIONS"] = region
    s.env["SESAME_NOTICES_POLL_SECONDS"] = "1"
    if fallback:
        s.env["SESAME_NOTICES_FALLBACK_ADDRESS"] = fallback
    else:
        s.env.pop("SESAME_NOTICES_FALLBACK_ADDRESS", None)
    s.start()
    _SERVERS.append(s)
    return s


@pytest.fixture(scope="module")
def notice_server(tmp_path_factory):
    s = notice_server_at(tmp_path_factory, "127.0.16.2", "us-east-1", FALLBACK)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory):
    s = notice_server_at(tmp_path_factory, "127.0.16.3", "eu-west-1", shared_pg=False)
    yield s
    s.stop()


def sender_in(server, region):
    """A production account with a verified domain in `region`: (account, domain)."""
    acct = create_account(server)
    domain = f"{unique('n')}.example.test"
    acct.client("ses", region=region).verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, "--region", region, domain)
    server.cli("account", "production", "--account", acct.account_id)
    return acct, domain


def remove_bounce_topic(acct, region, domain):
    """Q-163: the identity's Bounce topic is deleted, then a bounce finds it gone. Returns the
    subject of the notice this produces."""
    sns = acct.client("sns", region=region)
    ses = acct.client("ses", region=region)
    arn = sns.create_topic(Name=unique("gone"))["TopicArn"]
    ses.set_identity_notification_topic(Identity=domain, NotificationType="Bounce", SnsTopic=arn)
    sns.delete_topic(TopicArn=arn)
    ses.send_email(
        Source=f"app@{domain}",
        Destination={"ToAddresses": [f"bounce@{SIM}"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )
    return f"Bounce notifications for {domain} were turned off"


def inbox_to(server, to, subject, timeout=30.0):
    """The dev inbox messages to `to` with `subject`, waiting until there is one."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{server.endpoint}/_aws/ses", timeout=10) as r:
            msgs = [m for m in json.load(r)["messages"]
                    if to in m["Destination"]["ToAddresses"] and m["Subject"] == subject]
        if msgs or time.monotonic() > deadline:
            return msgs
        time.sleep(0.2)


def notices(server, acct, region):
    p = server.cli("account", "notices", "--account", acct.account_id, "--region", region, "--json")
    [scope] = json.loads(p.stdout)
    assert scope["account_id"] == acct.account_id and scope["region"] == region
    return scope


def test_notice_is_mailed_to_the_additional_contacts(notice_server):
    """Q-100, Q-163, D-121: the NOTIFICATION_TOPIC_REMOVED notice is mailed once to the
    AdditionalContactEmailAddresses (not the fallback), from the service, with the notice's
    subject and facts, DKIM-signed with the operator key; the notice is marked delivered."""
    acct, domain = sender_in(notice_server, "us-east-1")
    contacts = [f"ops@{domain}", f"cto@{domain}"]
    acct.sesv2.put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://example.test",
        UseCaseDescription="notices",
        AdditionalContactEmailAddresses=contacts,
    )
    assert acct.sesv2.get_account()["Details"]["AdditionalContactEmailAddresses"] == contacts
    subject = remove_bounce_topic(acct, "us-east-1", domain)

    [m] = inbox_to(notice_server, contacts[0], subject)
    assert m["Destination"]["ToAddresses"] == contacts
    assert m["Source"] == f"no-reply@{SERVICE_DOMAIN}"
    assert m["Region"] == "us-east-1"
    body = m["Body"]["text_part"]
    for want in (
        f"Account: {acct.account_id}",
        "Region: us-east-1",
        f"Identity: {domain}",
        "Notice: NOTIFICATION_TOPIC_REMOVED (NOTIFICATION_TOPIC: arn:aws:sns:us-east-1:",
        "SetIdentityNotificationTopic",
        "as a contact of the account (AdditionalContactEmailAddresses",
    ):
        assert want in body, (want, body)
    raw = m["RawData"]
    assert "X-Sesame-Notice-Type: NOTIFICATION_TOPIC_REMOVED" in raw
    assert f"d={SERVICE_DOMAIN};" in raw, "operator DKIM signature (Q-72)"

    scope = notices(notice_server, acct, "us-east-1")
    assert scope["recipients"] == contacts and scope["recipients_source"] == "account"
    [n] = scope["notices"]
    assert n["notice_type"] == "NOTIFICATION_TOPIC_REMOVED"
    assert n["identity"] == domain and n["subject"] == subject
    assert isinstance(n["delivered_at"], int) and n["delivered_at"] >= n["created_at"]
    assert n["message_id"] == m["Id"]
    assert n["mailed_to"] == contacts
    assert "claim" not in n

    # Mailed once: later rounds (1 s apart) leave it alone.
    time.sleep(3)
    assert len(inbox_to(notice_server, contacts[0], subject, timeout=0)) == 1
    text = notice_server.cli("account", "notices", "--account", acct.account_id).stdout
    assert f"notices go to {', '.join(contacts)} (AdditionalContactEmailAddresses)" in text
    assert "NOTIFICATION_TOPIC_REMOVED identity " + domain in text
    assert f"to {', '.join(contacts)} (message {m['Id']})" in text


def test_notice_goes_to_the_operator_fallback_without_contacts(notice_server):
    """Q-100: an account without AdditionalContactEmailAddresses gets its notice through the
    operator's SESAME_NOTICES_FALLBACK_ADDRESS, which the email says."""
    acct, domain = sender_in(notice_server, "us-east-1")
    subject = remove_bounce_topic(acct, "us-east-1", domain)
    [m] = inbox_to(notice_server, FALLBACK, subject)
    assert m["Destination"]["ToAddresses"] == [FALLBACK]
    assert "This account has no contact address" in m["Body"]["text_part"]
    scope = notices(notice_server, acct, "us-east-1")
    assert scope["recipients"] == [FALLBACK] and scope["recipients_source"] == "fallback"
    [n] = scope["notices"]
    assert n["mailed_to"] == [FALLBACK] and n["message_id"] == m["Id"]


def test_notice_waits_for_a_contact_address(quiet_server):
    """Q-100: with no contact address and no fallback the notice stays stored, unmailed; the
    server says why once; once PutAccountDetails sets a contact, the waiting notice is mailed."""
    region = "eu-west-1"
    acct, domain = sender_in(quiet_server, region)
    subject = remove_bounce_topic(acct, region, domain)
    deadline = time.monotonic() + 30
    while not notices(quiet_server, acct, region)["notices"]:
        assert time.monotonic() < deadline, "no notice stored"
        time.sleep(0.3)
    time.sleep(3)  # several mailer rounds
    scope = notices(quiet_server, acct, region)
    assert scope["recipients"] == [] and scope["recipients_source"] == "none"
    [n] = scope["notices"]
    assert n["delivered_at"] is None and "message_id" not in n
    pending = quiet_server.cli("account", "notices", "--account", acct.account_id, "--pending").stdout
    assert "no contact address and no SESAME_NOTICES_FALLBACK_ADDRESS" in pending
    assert "mailed:  not yet" in pending
    why = [l for l in quiet_server.stderr_text().splitlines()
           if "account notices not mailed" in l and acct.account_id in l]
    assert len(why) == 1, why

    contact = f"owner@{domain}"
    acct.client("sesv2", region=region).put_account_details(
        MailType="MARKETING", WebsiteURL="https://example.test",
        AdditionalContactEmailAddresses=[contact],
    )
    [m] = inbox_to(quiet_server, contact, subject)
    assert m["Region"] == region
    [n] = notices(quiet_server, acct, region)["notices"]
    assert n["mailed_to"] == [contact] and n["message_id"] == m["Id"]
    assert isinstance(n["delivered_at"], int)
    assert "no unmailed notices" in quiet_server.cli(
        "account", "notices", "--account", acct.account_id, "--pending").stdout


def test_two_nodes_mail_each_notice_once(notice_server, tmp_path_factory):
    """Q-100 on several nodes: a second node on the same PostgreSQL database, same region and
    settings, polls alongside; every notice is claimed by one node (compare-and-swap on the
    notice) and mailed exactly once."""
    url = notice_server.env.get("SESAME_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("two nodes need the shared PostgreSQL store (SESAME_NOTICES_CONFORMANCE_PG=1)")
    twin = notice_server_at(tmp_path_factory, "127.0.16.4", "us-east-1", FALLBACK)
    try:
        sent = []
        for _ in range(4):
            acct, domain = sender_in(notice_server, "us-east-1")
            sent.append((acct, remove_bounce_topic(acct, "us-east-1", domain)))
        for acct, subject in sent:
            assert len(inbox_to(notice_server, FALLBACK, subject)) == 1
        time.sleep(3)  # both nodes keep polling: still one email each
        for acct, subject in sent:
            msgs = inbox_to(twin, FALLBACK, subject, timeout=0)
            assert len(msgs) == 1, msgs
            [n] = notices(twin, acct, "us-east-1")["notices"]
            assert n["message_id"] == msgs[0]["Id"] and isinstance(n["delivered_at"], int)
    finally:
        twin.stop()
