"""SES event publishing to real destinations (issue 6; spec G-36..G-39, G-57..G-61; DECISIONS
Q-147, Q-157, Q-160, Q-164): unmodified boto3 `sns`, `sesv2` and `ses` against a real
`sesame serve`; a real HTTP endpoint (`http.server` on 127.0.13.1) subscribed and confirmed
through SNS's handshake; mailbox-simulator sends; every SNS message checked with the
independent signature validator of `test_sns.py` (canonical string, certificate fetched from
`SigningCertURL`, SHA256withRSA with `cryptography`) — none of Sesame's code is reused.

- Configuration-set SNS event destinations: the SNS `Message` is the event record JSON with
  `eventType` (G-38, G-39), only for enabled destinations whose `MatchingEventTypes` match.
- Identity notification topics (v1 `SetIdentityNotificationTopic`,
  `SetIdentityHeadersInNotificationsEnabled`): the notification JSON with `notificationType`
  in its own shape (G-60: no `eventType`, no `mail.tags`, `mail.sourceIp`; headers only when
  enabled).
"""

import json
import os
import queue
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import _SERVERS, Server, create_account, unique
from test_sns import verify_sns_message

REGION = "us-east-1"
ENDPOINT_HOST = "127.0.13.1"
SERVER_HOST = "127.0.13.2"
SIM = "simulator.amazonses.com"
SIMPLE = {"Simple": {"Subject": {"Data": "event publishing"}, "Body": {"Text": {"Data": "hello"}}}}


class Endpoint:
    """A real HTTP endpoint recording every POST (headers, JSON body; the raw bytes with
    `raw=True`)."""

    def __init__(self, host=ENDPOINT_HOST, raw=False):
        self.received = queue.Queue()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                endpoint.received.put((dict(self.headers.items()), body if raw else json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}/ses"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def next(self, timeout=30.0):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no SNS message reached {self.url} within {timeout}s")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ev_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("sesame-events") / "data"
    data.mkdir()
    s = Server(data)
    # Its own SQLite store: a second server with another data dir (instance key) cannot share
    # the suite's PostgreSQL database (the operator DKIM key is sealed with the first server's
    # key). The outbox on PostgreSQL is covered by the store suite (event_dispatch_*), and this
    # module passes on PostgreSQL when run alone (SESAME_EVENTS_CONFORMANCE_PG=1).
    if not os.environ.get("SESAME_EVENTS_CONFORMANCE_PG"):
        s.env.pop("SESAME_DATABASE_URL", None)
    # A fixed address: the SigningCertURL/SubscribeURL in queued messages stay valid.
    s.env["SESAME_HTTP_ADDR"] = f"{SERVER_HOST}:{free_port(SERVER_HOST)}"
    s.env["SESAME_DELIVERY_MODE"] = "capture"
    s.start()
    _SERVERS.append(s)
    yield s
    s.stop()


def verified_sender(server):
    """A production account with a verified domain: (account, domain)."""
    acct = create_account(server)
    domain = f"{unique('d')}.example.test"
    acct.ses.verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    server.cli("account", "production", "--account", acct.account_id)
    return acct, domain


@pytest.fixture(scope="module")
def sender(ev_server):
    return verified_sender(ev_server)


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.close()


def topic_with_endpoint(server, sns, endpoint):
    """CreateTopic, Subscribe (http), the signed SubscriptionConfirmation, confirmation by
    fetching SubscribeURL (Q-167, Q-168). Returns the topic ARN."""
    arn = sns.create_topic(Name=unique("ses-events"))["TopicArn"]
    r = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url)
    assert r["SubscriptionArn"] == "pending confirmation"
    headers, msg = endpoint.next()
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert msg["Type"] == "SubscriptionConfirmation" and msg["TopicArn"] == arn
    verify_sns_message(msg, server.endpoint)
    with urllib.request.urlopen(msg["SubscribeURL"], timeout=10) as resp:
        assert resp.status == 200
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["SubscriptionArn"] != "PendingConfirmation" for s in subs] == [True]
    return arn


def collect(server, endpoint, topic_arn, want, key, timeout=45.0):
    """Reads notifications until `want` (a set of (messageId, type)) is covered; verifies every
    one's envelope and signature. Returns {(messageId, type): message JSON}."""
    got, ids = {}, {}
    deadline = time.monotonic() + timeout
    while not want <= set(got):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"missing {sorted(want - set(got))}; got {sorted(got)}")
        headers, n = endpoint.next(timeout=left)
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert headers["x-amz-sns-topic-arn"] == topic_arn
        assert n["Type"] == "Notification" and n["TopicArn"] == topic_arn
        assert n["SignatureVersion"] == "2"
        verify_sns_message(n, server.endpoint)
        assert headers["x-amz-sns-message-id"] == n["MessageId"]
        m = json.loads(n["Message"])
        k = (m["mail"]["messageId"], m[key])
        # a repeated publication (at-least-once) reuses the SNS MessageId.
        if k in ids:
            assert ids[k] == n["MessageId"], f"repeat of {k} with a new MessageId"
        ids[k] = n["MessageId"]
        got[k] = m
    return got


def test_configuration_set_sns_destination_publishes_event_records(ev_server, sender, endpoint):
    """G-36..G-39, G-42, G-45, G-48, Q-147: SEND/DELIVERY/BOUNCE/COMPLAINT of simulator sends
    through a configuration set reach the subscribed endpoint as signed SNS notifications whose
    `Message` is the event record (`eventType`, `mail` with tags, the type's own object);
    a disabled destination and a destination matching other types publish nothing."""
    acct, domain = sender
    sns = acct.client("sns")
    arn = topic_with_endpoint(ev_server, sns, endpoint)
    quiet = Endpoint()
    try:
        quiet_arn = topic_with_endpoint(ev_server, sns, quiet)
        cs = unique("cs")
        v2 = acct.sesv2
        v2.create_configuration_set(ConfigurationSetName=cs)
        v2.create_configuration_set_event_destination(
            ConfigurationSetName=cs,
            EventDestinationName="sns",
            EventDestination={
                "Enabled": True,
                "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT"],
                "SnsDestination": {"TopicArn": arn},
            },
        )
        v2.create_configuration_set_event_destination(
            ConfigurationSetName=cs,
            EventDestinationName="disabled",
            EventDestination={
                "Enabled": False,
                "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT"],
                "SnsDestination": {"TopicArn": quiet_arn},
            },
        )
        v2.create_configuration_set_event_destination(
            ConfigurationSetName=cs,
            EventDestinationName="opens",
            EventDestination={
                "Enabled": True,
                "MatchingEventTypes": ["OPEN", "REJECT"],
                "SnsDestination": {"TopicArn": quiet_arn},
            },
        )
        src = f"sender@{domain}"
        ids = {}
        for kind in ("success", "bounce", "complaint"):
            ids[kind] = v2.send_email(
                FromEmailAddress=src,
                Destination={"ToAddresses": [f"{kind}@{SIM}"]},
                Content=SIMPLE,
                ConfigurationSetName=cs,
                EmailTags=[{"Name": "campaign", "Value": "c1"}],
            )["MessageId"]
        want = {
            (ids["success"], "Send"), (ids["success"], "Delivery"),
            (ids["bounce"], "Send"), (ids["bounce"], "Bounce"),
            (ids["complaint"], "Send"), (ids["complaint"], "Delivery"), (ids["complaint"], "Complaint"),
        }
        got = collect(ev_server, endpoint, arn, want, "eventType")
        assert set(got) == want, "only the matching types are published"

        for (mid, etype), m in got.items():
            mail = m["mail"]
            assert mail["messageId"] == mid
            assert mail["source"] == src
            assert mail["sourceArn"] == f"arn:aws:ses:{REGION}:{acct.account_id}:identity/{domain}"
            assert mail["sendingAccountId"] == acct.account_id
            assert len(mail["destination"]) == 1
            assert mail["tags"]["ses:configuration-set"] == [cs]
            assert mail["tags"]["ses:from-domain"] == [domain]
            assert mail["tags"]["campaign"] == ["c1"]
            assert "notificationType" not in m
            assert mail["commonHeaders"]["messageId"] == mid  # G-40: events show the SES id
            assert mail["commonHeaders"]["subject"] == "event publishing"
        assert got[(ids["success"], "Send")]["send"] == {}
        delivery = got[(ids["success"], "Delivery")]["delivery"]
        assert delivery["recipients"] == [f"success@{SIM}"]
        assert "remoteMtaIp" not in delivery  # G-60: events never show it
        assert isinstance(delivery["processingTimeMillis"], int)
        bounce = got[(ids["bounce"], "Bounce")]["bounce"]
        assert bounce["bounceType"] == "Permanent" and bounce["bounceSubType"] == "General"
        assert [r["emailAddress"] for r in bounce["bouncedRecipients"]] == [f"bounce@{SIM}"]
        assert bounce["feedbackId"].endswith("-000000")
        complaint = got[(ids["complaint"], "Complaint")]["complaint"]
        assert [r["emailAddress"] for r in complaint["complainedRecipients"]] == [f"complaint@{SIM}"]
        assert complaint["complaintFeedbackType"] == "abuse"
        assert "complaintSubType" in complaint  # always present

        # Nothing for the disabled destination nor the OPEN/REJECT one (give the dispatcher
        # time to have published, then check the quiet endpoint got nothing).
        time.sleep(2)
        assert quiet.received.empty(), quiet.received.get()
        assert endpoint.received.empty(), "no duplicate or unexpected notifications"
    finally:
        quiet.close()


def test_identity_notification_topics(ev_server, sender, endpoint):
    """G-57..G-61, Q-157, Q-164: SetIdentityNotificationTopic (Bounce, Complaint, Delivery) and
    SetIdentityHeadersInNotificationsEnabled take effect for mail from the identity, without a
    configuration set: `notificationType` notifications in their own shape."""
    acct, domain = sender
    sns = acct.client("sns")
    arn = topic_with_endpoint(ev_server, sns, endpoint)
    ses = acct.ses
    for t in ("Bounce", "Complaint", "Delivery"):
        ses.set_identity_notification_topic(Identity=domain, NotificationType=t, SnsTopic=arn)
    ses.set_identity_headers_in_notifications_enabled(Identity=domain, NotificationType="Bounce", Enabled=True)
    attrs = ses.get_identity_notification_attributes(Identities=[domain])["NotificationAttributes"][domain]
    assert attrs["BounceTopic"] == arn and attrs["ComplaintTopic"] == arn and attrs["DeliveryTopic"] == arn
    assert attrs["HeadersInBounceNotificationsEnabled"] is True
    assert attrs["HeadersInDeliveryNotificationsEnabled"] is False

    src = f"notify@{domain}"
    ids = {}
    for kind in ("success", "bounce", "complaint"):
        ids[kind] = ses.send_email(
            Source=src,
            Destination={"ToAddresses": [f"{kind}@{SIM}"]},
            Message={"Subject": {"Data": "identity notifications"}, "Body": {"Text": {"Data": "b"}}},
        )["MessageId"]
    want = {
        (ids["success"], "Delivery"),
        (ids["bounce"], "Bounce"),
        (ids["complaint"], "Delivery"),
        (ids["complaint"], "Complaint"),
    }
    got = collect(ev_server, endpoint, arn, want, "notificationType")
    assert set(got) == want, "Send events have no notification (G-58)"
    for (mid, ntype), n in got.items():
        assert "eventType" not in n
        mail = n["mail"]
        assert mail["messageId"] == mid and mail["source"] == src
        assert mail["sourceArn"] == f"arn:aws:ses:{REGION}:{acct.account_id}:identity/{domain}"
        assert mail["sendingAccountId"] == acct.account_id
        assert "tags" not in mail  # G-60: never in notifications
        # G-60: `sourceIp`/`callerIdentity` come from the event's `ses:source-ip` and
        # `ses:caller-identity` auto tags; the API does not record the client IP yet, so they
        # are checked only for their placement (never inside `tags`, never an empty value).
        for k in ("sourceIp", "callerIdentity"):
            assert mail.get(k, "x"), k
        if ntype == "Bounce":
            # Headers enabled for Bounce only; commonHeaders.messageId is the original
            # Message-ID, never the SES id (G-60).
            assert mail["headersTruncated"] is False
            assert any(h["name"] == "Subject" and h["value"] == "identity notifications" for h in mail["headers"])
            assert mail["commonHeaders"]["subject"] == "identity notifications"
            assert mail["commonHeaders"].get("messageId") != mid
        else:
            for k in ("headers", "headersTruncated", "commonHeaders"):
                assert k not in mail, (ntype, k)
    b = got[(ids["bounce"], "Bounce")]["bounce"]
    assert b["bounceType"] == "Permanent"
    assert [r["emailAddress"] for r in b["bouncedRecipients"]] == [f"bounce@{SIM}"]
    c = got[(ids["complaint"], "Complaint")]["complaint"]
    assert [r["emailAddress"] for r in c["complainedRecipients"]] == [f"complaint@{SIM}"]
    d = got[(ids["success"], "Delivery")]["delivery"]
    assert d["recipients"] == [f"success@{SIM}"]
    time.sleep(1.5)
    assert endpoint.received.empty(), "one notification per event"


def test_events_committed_before_kill9_are_published_after_restart(ev_server, sender, endpoint):
    """Q-160: the publishing outbox is written with the events; a `kill -9` right after the
    sends loses nothing — every event is published once the server is back."""
    acct, domain = sender
    sns = acct.client("sns")
    arn = topic_with_endpoint(ev_server, sns, endpoint)
    cs = unique("cs")
    acct.sesv2.create_configuration_set(ConfigurationSetName=cs)
    acct.sesv2.create_configuration_set_event_destination(
        ConfigurationSetName=cs,
        EventDestinationName="sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"],
                          "SnsDestination": {"TopicArn": arn}},
    )
    ids = [
        acct.sesv2.send_email(
            FromEmailAddress=f"k@{domain}", Destination={"ToAddresses": [f"success+{i}@{SIM}"]},
            Content=SIMPLE, ConfigurationSetName=cs,
        )["MessageId"]
        for i in range(5)
    ]
    ev_server.restart(hard=True)
    want = {(m, t) for m in ids for t in ("Send", "Delivery")}
    got = collect(ev_server, endpoint, arn, want, "eventType", timeout=90.0)
    assert want <= set(got)


def test_topics_of_another_account_never_receive_events(ev_server, sender, endpoint):
    """Accounts are isolated (docs/sns.md: no cross-account topic permissions): an event
    destination or identity topic naming another account's topic publishes nothing there,
    while the account's own destination in the same set still publishes."""
    acct, domain = sender
    other = create_account(ev_server)
    theirs = Endpoint()
    try:
        their_arn = topic_with_endpoint(ev_server, other.client("sns"), theirs)
        own_arn = topic_with_endpoint(ev_server, acct.client("sns"), endpoint)
        cs = unique("cs")
        v2 = acct.sesv2
        v2.create_configuration_set(ConfigurationSetName=cs)
        for name, arn in (("theirs", their_arn), ("own", own_arn)):
            v2.create_configuration_set_event_destination(
                ConfigurationSetName=cs,
                EventDestinationName=name,
                EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"],
                                  "SnsDestination": {"TopicArn": arn}},
            )
        sub = f"x{unique('s')}.{domain}"
        acct.ses.verify_domain_identity(Domain=sub)
        ev_server.cli("identity", "verify", "--force", "--account", acct.account_id, sub)
        acct.ses.set_identity_notification_topic(Identity=sub, NotificationType="Delivery", SnsTopic=their_arn)
        mid = v2.send_email(
            FromEmailAddress=f"a@{sub}", Destination={"ToAddresses": [f"success@{SIM}"]},
            Content=SIMPLE, ConfigurationSetName=cs,
        )["MessageId"]
        collect(ev_server, endpoint, own_arn, {(mid, "Send"), (mid, "Delivery")}, "eventType")
        time.sleep(1.5)
        assert theirs.received.empty(), theirs.received.get()
    finally:
        theirs.close()


def test_deleted_identity_topic_is_repaired(ev_server, sender):
    """Q-163 (c), D-121: when an identity's Bounce topic has been deleted, the next bounce
    removes the Bounce setting and re-enables email feedback forwarding; the Complaint setting
    (no complaint yet) and the Delivery setting (never repaired) stay."""
    acct, domain = sender
    sns = acct.client("sns")
    ses = acct.ses
    sub = f"r{unique('s')}.{domain}"
    ses.verify_domain_identity(Domain=sub)
    ev_server.cli("identity", "verify", "--force", "--account", acct.account_id, sub)
    arn = sns.create_topic(Name=unique("gone"))["TopicArn"]
    for t in ("Bounce", "Complaint", "Delivery"):
        ses.set_identity_notification_topic(Identity=sub, NotificationType=t, SnsTopic=arn)
    ses.set_identity_feedback_forwarding_enabled(Identity=sub, ForwardingEnabled=False)
    sns.delete_topic(TopicArn=arn)
    ses.send_email(
        Source=f"a@{sub}", Destination={"ToAddresses": [f"bounce@{SIM}"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )
    deadline = time.monotonic() + 30
    while True:
        attrs = ses.get_identity_notification_attributes(Identities=[sub])["NotificationAttributes"][sub]
        if not attrs.get("BounceTopic"):  # required in the model: "" when unset
            break
        assert time.monotonic() < deadline, attrs
        time.sleep(0.3)
    assert attrs["ForwardingEnabled"] is True
    assert attrs["ComplaintTopic"] == arn
    assert attrs["DeliveryTopic"] == arn
