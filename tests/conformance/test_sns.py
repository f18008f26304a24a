"""Built-in SNS-compatible topics (issue 6 item 2; DECISIONS Q-167..Q-170; model sns.json).

Unmodified boto3 `sns` and the aws CLI against a real `sesame serve`, a real HTTP endpoint
(`http.server` on 127.0.9.1) receiving the messages, and an **independent** signature
validator written here from SNS's documentation ("Verifying the signatures of Amazon SNS
messages"): build the canonical string per message type, fetch `SigningCertURL`, load the X.509
certificate, check its validity period and verify SHA256withRSA (SignatureVersion 2; SHA1 for
version 1) with the `cryptography` package. Nothing here reuses Sesame's code.

These tests run their own server (module fixture) with a fixed listener address, so URLs in
queued messages stay valid across the restart test, capture-mode delivery so email
subscriptions land in the dev inbox, and two regions for the isolation test.
"""

import base64
import datetime
import json
import queue
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import _SERVERS, AwsCli, Server, create_account, err, unique

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
ENDPOINT_HOST = "127.0.9.1"


# ---------------------------------------------------------------- the independent validator

NOTIFICATION_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_FIELDS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def canonical(msg: dict) -> bytes:
    """SNS's string to sign: `Name\\nValue\\n` for each field of the type's list, in order,
    skipping absent optional ones (only `Subject` is optional)."""
    fields = NOTIFICATION_FIELDS if msg["Type"] == "Notification" else CONFIRMATION_FIELDS
    out = ""
    for f in fields:
        if f in msg:
            out += f"{f}\n{msg[f]}\n"
    return out.encode("utf-8")


_CERTS = {}


def verify_sns_message(msg: dict, cert_url_prefix: str) -> None:
    """Raises if `msg` is not a validly signed SNS message whose certificate is served under
    `cert_url_prefix` (the equivalent of a stock validator's host-pattern option, Q-168)."""
    assert msg["SignatureVersion"] in ("1", "2"), msg["SignatureVersion"]
    url = msg["SigningCertURL"]
    assert url.startswith(cert_url_prefix + "/"), url
    assert re.fullmatch(r".*/SimpleNotificationService-[0-9a-f]+\.pem", url), url
    if url not in _CERTS:
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
            _CERTS[url] = x509.load_pem_x509_certificate(r.read())
    cert = _CERTS[url]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc, "certificate not valid now"
    algo = hashes.SHA256() if msg["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(
        base64.b64decode(msg["Signature"]), canonical(msg), padding.PKCS1v15(), algo
    )


# ---------------------------------------------------------------- a real HTTP endpoint

class Endpoint:
    """An HTTP server recording every POST; `fail_next` answers that many posts with 500."""

    def __init__(self, port: int = 0, tls=None):
        self.received = queue.Queue()
        self.fail_next = 0
        self.attempts = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode("utf-8")
                endpoint.attempts += 1
                if endpoint.fail_next > 0:
                    endpoint.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                endpoint.received.put((dict(self.headers.items()), body, time.monotonic()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer((ENDPOINT_HOST, port), Handler)
        scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{ENDPOINT_HOST}:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def next(self, timeout=20.0):
        try:
            headers, body, at = self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no SNS message reached {self.url} within {timeout}s")
        return headers, json.loads(body) if body.startswith("{") else body, at

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.close()


# ---------------------------------------------------------------- server and clients

def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sns_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("sesame-sns")
    data = base / "data"
    data.mkdir()
    s = Server(data)
    s.env["SESAME_HTTP_ADDR"] = f"127.0.9.2:{free_port('127.0.9.2')}"
    s.env["SESAME_DELIVERY_MODE"] = "capture"
    s.env["SESAME_REGIONS"] = f"{REGION},{OTHER_REGION}"
    s.start()
    _SERVERS.append(s)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def acct(sns_server):
    return create_account(sns_server)


@pytest.fixture(scope="module")
def acct2(sns_server):
    return create_account(sns_server)


@pytest.fixture
def sns(acct):
    return acct.client("sns")


def new_topic(sns) -> str:
    return sns.create_topic(Name=unique("topic"))["TopicArn"]


def subscribe_and_confirm(sns, topic_arn, endpoint, base):
    """Subscribes `endpoint`, checks the signed SubscriptionConfirmation, confirms by fetching
    its SubscribeURL; returns (subscription ARN, the confirmation message)."""
    r = sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=endpoint.url)
    assert r["SubscriptionArn"] == "pending confirmation"
    headers, msg, _ = endpoint.next()
    assert msg["Type"] == "SubscriptionConfirmation"
    verify_sns_message(msg, base)
    with urllib.request.urlopen(msg["SubscribeURL"], timeout=10) as resp:
        xml = resp.read().decode()
    m = re.search(r"<SubscriptionArn>([^<]+)</SubscriptionArn>", xml)
    assert m, xml
    return m.group(1), msg


# ---------------------------------------------------------------- the end-to-end flow

def test_http_subscription_confirm_publish_verify(sns_server, sns, acct, endpoint):
    """Q-168: handshake, notification envelope and headers, SignatureVersion 2 signatures
    verified independently; model shapes CreateTopicResponse, SubscribeResponse,
    PublishResponse, ListSubscriptionsByTopicResponse."""
    base = sns_server.endpoint
    name = unique("orders")
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:{REGION}:{acct.account_id}:{name}"
    # CreateTopic is idempotent by name.
    assert sns.create_topic(Name=name)["TopicArn"] == arn

    r = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url)
    assert r["SubscriptionArn"] == "pending confirmation"
    headers, conf, _ = endpoint.next()
    # The confirmation request: headers and envelope as SNS sends them.
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == arn
    assert headers["x-amz-sns-message-id"] == conf["MessageId"]
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert set(conf) == {
        "Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
        "SignatureVersion", "Signature", "SigningCertURL",
    }
    assert conf["TopicArn"] == arn
    assert conf["SignatureVersion"] == "2"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", conf["Timestamp"])
    assert conf["Message"].startswith(f"You have chosen to subscribe to the topic {arn}.")
    verify_sns_message(conf, base)
    # Pending until confirmed.
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in subs] == ["PendingConfirmation"]

    # Fetching the SubscribeURL (unsigned, as an endpoint would) confirms.
    with urllib.request.urlopen(conf["SubscribeURL"], timeout=10) as resp:
        xml = resp.read().decode()
    assert "<ConfirmSubscriptionResponse" in xml
    sub_arn = re.search(r"<SubscriptionArn>([^<]+)</SubscriptionArn>", xml).group(1)
    assert sub_arn.startswith(arn + ":")
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert subs == [{
        "SubscriptionArn": sub_arn, "Owner": acct.account_id, "Protocol": "http",
        "Endpoint": endpoint.url, "TopicArn": arn,
    }]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["SubscriptionsConfirmed"] == "1" and attrs["SubscriptionsPending"] == "0"

    # Publish → a signed Notification.
    out = sns.publish(
        TopicArn=arn, Subject="Order shipped", Message='{"order": 42}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "shipping"}},
    )
    mid = out["MessageId"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", mid)
    headers, n, _ = endpoint.next()
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == mid
    assert headers["x-amz-sns-topic-arn"] == arn
    assert headers["x-amz-sns-subscription-arn"] == sub_arn
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert set(n) == {
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
        "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes",
    }
    assert (n["Type"], n["MessageId"], n["TopicArn"], n["Subject"], n["Message"]) == (
        "Notification", mid, arn, "Order shipped", '{"order": 42}')
    assert n["MessageAttributes"] == {"kind": {"Type": "String", "Value": "shipping"}}
    verify_sns_message(n, base)
    # The validator is not a rubber stamp: a changed field breaks the signature.
    forged = dict(n, Message='{"order": 43}')
    with pytest.raises(InvalidSignature):
        verify_sns_message(forged, base)

    # Without Subject the canonical string leaves it out (and so must the validator).
    sns.publish(TopicArn=arn, Message="no subject")
    _, n2, _ = endpoint.next()
    assert "Subject" not in n2 and n2["Message"] == "no subject"
    verify_sns_message(n2, base)

    # MessageStructure=json: the subscriber's protocol key wins over `default`.
    sns.publish(TopicArn=arn, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "http": "for http"}))
    _, n3, _ = endpoint.next()
    assert n3["Message"] == "for http"
    verify_sns_message(n3, base)

    # UnsubscribeURL: the endpoint then gets a signed UnsubscribeConfirmation.
    with urllib.request.urlopen(n["UnsubscribeURL"], timeout=10) as resp:
        assert "<UnsubscribeResponse" in resp.read().decode()
    headers, u, _ = endpoint.next()
    assert u["Type"] == "UnsubscribeConfirmation"
    assert headers["x-amz-sns-subscription-arn"] == sub_arn
    verify_sns_message(u, base)
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []


def test_confirm_subscription_api_and_unsubscribe(sns_server, sns, endpoint):
    """ConfirmSubscription with the token (model ConfirmSubscriptionInput/Response), then
    Unsubscribe (model UnsubscribeInput)."""
    arn = new_topic(sns)
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url)
    _, conf, _ = endpoint.next()
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=arn, Token="00" * 64)
    assert err(e)[:2] == ("InvalidParameter", 400)
    sub_arn = sns.confirm_subscription(TopicArn=arn, Token=conf["Token"])["SubscriptionArn"]
    assert sub_arn.startswith(arn + ":")
    # Confirming again is harmless and returns the same ARN.
    assert sns.confirm_subscription(TopicArn=arn, Token=conf["Token"])["SubscriptionArn"] == sub_arn
    a = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
    assert (a["Protocol"], a["Endpoint"], a["PendingConfirmation"], a["TopicArn"]) == (
        "http", endpoint.url, "false", arn)
    listed = [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]
    assert sub_arn in listed
    sns.unsubscribe(SubscriptionArn=sub_arn)
    _, u, _ = endpoint.next()
    assert u["Type"] == "UnsubscribeConfirmation"
    with pytest.raises(ClientError) as e:
        sns.unsubscribe(SubscriptionArn=sub_arn)
    assert err(e)[:2] == ("NotFound", 404)


def test_raw_message_delivery(sns_server, sns, endpoint):
    """Q-168: RawMessageDelivery=true posts the message itself."""
    arn = new_topic(sns)
    sub_arn, _ = subscribe_and_confirm(sns, arn, endpoint, sns_server.endpoint)
    sns.set_subscription_attributes(
        SubscriptionArn=sub_arn, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.publish(TopicArn=arn, Message="raw body")
    headers, body, _ = endpoint.next()
    assert body == "raw body"
    assert headers["x-amz-sns-message-type"] == "Notification"


def test_signature_version_1_on_request(sns_server, sns, endpoint):
    """Q-168: `SignatureVersion` 1 (SHA1withRSA, SNS's original scheme) when the topic asks for
    it; Sesame's default is 2. Both verify with the independent validator."""
    arn = new_topic(sns)
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SignatureVersion"] == "2"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="1")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SignatureVersion"] == "1"
    _, conf = subscribe_and_confirm(sns, arn, endpoint, sns_server.endpoint)
    assert conf["SignatureVersion"] == "1"
    sns.publish(TopicArn=arn, Subject="v1", Message="sha1 please")
    _, n, _ = endpoint.next()
    assert n["SignatureVersion"] == "1"
    verify_sns_message(n, sns_server.endpoint)
    # Claiming version 2 for a version-1 signature fails.
    with pytest.raises(InvalidSignature):
        verify_sns_message(dict(n, SignatureVersion="2"), sns_server.endpoint)
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="3")
    assert err(e)[:2] == ("InvalidParameter", 400)


def test_failed_posts_are_retried_with_backoff(sns_server, sns, endpoint):
    """Q-170: a non-2xx answer is retried with exponential backoff from 1 s (1 s, then 2 s)."""
    arn = new_topic(sns)
    subscribe_and_confirm(sns, arn, endpoint, sns_server.endpoint)
    endpoint.fail_next = 2
    before = endpoint.attempts
    t0 = time.monotonic()
    mid = sns.publish(TopicArn=arn, Message="eventually")["MessageId"]
    headers, n, at = endpoint.next(timeout=30)
    assert n["MessageId"] == mid
    verify_sns_message(n, sns_server.endpoint)
    assert endpoint.attempts - before == 3
    assert at - t0 >= 2.5, "two retries after 1 s and 2 s"


def test_deliveries_survive_kill9(sns_server, sns, acct):
    """Q-170: a delivery is a durable record; kill -9 while the endpoint is down, restart,
    and it still arrives (with a signature that verifies)."""
    e = Endpoint()
    url = e.url
    try:
        arn = new_topic(sns)
        subscribe_and_confirm(sns, arn, e, sns_server.endpoint)
    finally:
        e.close()
    # Endpoint gone: the post fails and is rescheduled.
    mid = sns.publish(TopicArn=arn, Message="after restart")["MessageId"]
    time.sleep(1.5)
    sns_server.restart(hard=True)
    # The endpoint comes back on the same port: the stored URL reaches it again.
    again = Endpoint(port=int(url.rsplit(":", 1)[1].split("/")[0]))
    try:
        deadline = time.monotonic() + 40
        while True:
            headers, n, _ = again.next(timeout=max(1, deadline - time.monotonic()))
            if n.get("MessageId") == mid:
                break
        verify_sns_message(n, sns_server.endpoint)
        assert n["Message"] == "after restart"
    finally:
        again.close()


def test_dead_letter_after_the_retry_window_and_operator_retry(tmp_path, endpoint):
    """Q-170: past `sns_retry_window_seconds` a delivery becomes a dead letter, listed by
    `sesame sns dead-letters`; `--retry-all` sends it again with a fresh window."""
    data = tmp_path / "data"
    data.mkdir()
    s = Server(data)
    s.env["SESAME_HTTP_ADDR"] = f"127.0.9.3:{free_port('127.0.9.3')}"
    # SQLite in its own data dir: on a shared PostgreSQL database this server's instance key
    # could not open the SNS signing key sealed by the module's server (conftest: one instance
    # key per database).
    s.env.pop("SESAME_DATABASE_URL", None)
    s.env["SESAME_SNS_RETRY_WINDOW_SECONDS"] = "2"
    s.start()
    _SERVERS.append(s)
    try:
        sns = create_account(s).client("sns")
        arn = new_topic(sns)
        subscribe_and_confirm(sns, arn, endpoint, s.endpoint)
        endpoint.fail_next = 1000
        mid = sns.publish(TopicArn=arn, Message="doomed")["MessageId"]
        deadline = time.monotonic() + 20
        dead = []
        while time.monotonic() < deadline:
            dead = json.loads(s.cli("sns", "dead-letters", "--json").stdout)
            if dead:
                break
            time.sleep(0.3)
        assert len(dead) == 1, dead
        d = dead[0]
        assert (d["message_id"], d["message_type"], d["url"]) == (mid, "Notification", endpoint.url)
        assert d["attempts"] >= 2 and d["last_error"] == "HTTP status 500"
        endpoint.fail_next = 0
        assert "requeued 1" in s.cli("sns", "dead-letters", "--retry-all").stdout
        _, n, _ = endpoint.next()
        assert n["MessageId"] == mid
        verify_sns_message(n, s.endpoint)
        assert json.loads(s.cli("sns", "dead-letters", "--json").stdout) == []
    finally:
        s.stop()


def _test_pki(tmp_path):
    """A CA and a server certificate for ENDPOINT_HOST (IP SAN), as PEM files."""
    import ipaddress

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sesame test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ENDPOINT_HOST)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ENDPOINT_HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = tmp_path / "server.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_pem = tmp_path / "server.key"
    key_pem.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_pem, chain, key_pem


def test_https_subscription_verifies_the_endpoint_certificate(tmp_path):
    """`https` subscriptions: delivered over TLS, the endpoint's certificate checked against the
    trusted CAs (here `SSL_CERT_FILE`, the OpenSSL convention Sesame honours); an endpoint
    whose certificate is not trusted gets nothing (the post fails and is retried)."""
    import ssl

    ca_pem, chain, key_pem = _test_pki(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key_pem)
    data = tmp_path / "data"
    data.mkdir()
    s = Server(data)
    s.env["SESAME_HTTP_ADDR"] = f"127.0.9.4:{free_port('127.0.9.4')}"
    # SQLite in its own data dir: on a shared PostgreSQL database this server's instance key
    # could not open the SNS signing key sealed by the module's server (conftest: one instance
    # key per database).
    s.env.pop("SESAME_DATABASE_URL", None)
    s.env["SSL_CERT_FILE"] = str(ca_pem)
    s.start()
    _SERVERS.append(s)
    e = Endpoint(tls=ctx)
    try:
        sns = create_account(s).client("sns")
        arn = new_topic(sns)
        assert e.url.startswith("https://")
        r = sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=e.url)
        assert r["SubscriptionArn"] == "pending confirmation"
        _, conf, _ = e.next()
        verify_sns_message(conf, s.endpoint)
        sns.confirm_subscription(TopicArn=arn, Token=conf["Token"])
        mid = sns.publish(TopicArn=arn, Message="over tls")["MessageId"]
        headers, n, _ = e.next()
        assert (n["MessageId"], n["Message"]) == (mid, "over tls")
        verify_sns_message(n, s.endpoint)
    finally:
        e.close()
        s.stop()
    # The same endpoint, but Sesame trusts another CA: nothing is delivered.
    (tmp_path / "other").mkdir()
    other_ca, _, _ = _test_pki(tmp_path / "other")
    s.env["SSL_CERT_FILE"] = str(other_ca)
    s.start()
    e = Endpoint(tls=ctx)
    try:
        sns = create_account(s).client("sns")
        arn = new_topic(sns)
        sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=e.url)
        with pytest.raises(AssertionError, match="no SNS message"):
            e.next(timeout=3)
        assert e.attempts == 0, "the TLS handshake fails before any request"
        assert "TLS failed" in s.stderr_text()
    finally:
        e.close()
        s.stop()


# ---------------------------------------------------------------- email subscriptions

def inbox(server, to: str, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{server.endpoint}/_aws/ses", timeout=10) as r:
            msgs = [m for m in json.load(r)["messages"]
                    if to in m["Destination"]["ToAddresses"]]
        if msgs:
            return msgs
        time.sleep(0.2)
    raise AssertionError(f"no email to {to}")


def wait_inbox(server, to, count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        msgs = inbox(server, to, timeout)
        if len(msgs) >= count or time.monotonic() > deadline:
            return msgs
        time.sleep(0.2)


def test_email_and_email_json_subscriptions(sns_server, sns):
    """Q-169: email subscriptions get a confirmation email with the SubscribeURL, then the
    messages by email; email-json gets the signed JSON envelope as the body."""
    arn = new_topic(sns)
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Alerts")
    to = f"{unique('ops')}@example.net"
    assert sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=to)["SubscriptionArn"] == \
        "pending confirmation"
    conf = inbox(sns_server, to)[0]
    assert conf["Subject"] == "Alerts - Subscription Confirmation"
    link = re.search(r"(http://\S+Action=ConfirmSubscription\S+)", conf["Body"]["text_part"]).group(1)
    with urllib.request.urlopen(link, timeout=10) as r:
        assert r.status == 200
    sns.publish(TopicArn=arn, Subject="Disk full", Message="on host a1")
    msgs = wait_inbox(sns_server, to, 2)
    note = msgs[-1]
    assert note["Subject"] == "Disk full"
    assert note["Body"]["text_part"].startswith("on host a1")

    to_json = f"{unique('ops')}@example.net"
    sns.subscribe(TopicArn=arn, Protocol="email-json", Endpoint=to_json)
    conf = json.loads(inbox(sns_server, to_json)[0]["Body"]["text_part"])
    assert conf["Type"] == "SubscriptionConfirmation"
    verify_sns_message(conf, sns_server.endpoint)
    sns.confirm_subscription(TopicArn=arn, Token=conf["Token"])
    mid = sns.publish(TopicArn=arn, Message="json please")["MessageId"]
    body = json.loads(wait_inbox(sns_server, to_json, 2)[-1]["Body"]["text_part"])
    assert (body["Type"], body["MessageId"], body["Message"]) == ("Notification", mid, "json please")
    verify_sns_message(body, sns_server.endpoint)


# ---------------------------------------------------------------- attributes, listing, errors

def test_topic_attributes_and_listing(sns_server, acct2):
    """GetTopicAttributes/SetTopicAttributes; ListTopics pages of 100 with NextToken."""
    sns = acct2.client("sns")
    arn = sns.create_topic(Name=unique("attrs"), Attributes={"DisplayName": "first"})["TopicArn"]
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["TopicArn"] == arn and a["Owner"] == acct2.account_id
    assert a["DisplayName"] == "first" and a["SignatureVersion"] == "2"
    json.loads(a["Policy"]) and json.loads(a["EffectiveDeliveryPolicy"])
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="second")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "second"
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Bogus", AttributeValue="x")
    assert err(e)[:2] == ("InvalidParameter", 400)
    # Same name, different attributes: SNS refuses.
    name = arn.rsplit(":", 1)[1]
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"DisplayName": "other"})
    assert err(e)[:2] == ("InvalidParameter", 400)

    for i in range(104):
        sns.create_topic(Name=f"page{i:03d}")
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    second = sns.list_topics(NextToken=first["NextToken"])
    assert "NextToken" not in second
    arns = [t["TopicArn"] for t in first["Topics"] + second["Topics"]]
    assert len(arns) == 105 and len(set(arns)) == 105 and arn in arns
    with pytest.raises(ClientError) as e:
        sns.list_topics(NextToken="forged")
    assert err(e)[:2] == ("InvalidParameter", 400)
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # deleting a missing topic succeeds, as in SNS
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert err(e) == ("NotFound", 404, "Topic does not exist")


def test_topic_tags(sns):
    """TagResource / UntagResource / ListTagsForResource on topics (Q-167); model errors
    ResourceNotFound (404) and TagLimitExceeded (400)."""
    arn = sns.create_topic(Name=unique("tagged"), Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "prod"}])
    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "prod"), ("team", "b")]
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert err(e)[:2] == ("TagLimitExceeded", 400)
    with pytest.raises(ClientError) as e:
        sns.list_tags_for_resource(ResourceArn=arn + "x")
    assert err(e)[:2] == ("ResourceNotFound", 404)


@pytest.mark.parametrize("protocol", ["sqs", "lambda", "sms", "application", "firehose"])
def test_unsupported_protocols_are_invalid_parameter(sns, protocol):
    """Q-169: only http, https, email, email-json."""
    arn = new_topic(sns)
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint="arn:aws:sqs:us-east-1:1:q")
    assert err(e)[:2] == ("InvalidParameter", 400)


def test_error_codes(sns_server, sns, acct, acct2):
    """Model errors: NotFoundException → NotFound 404, InvalidParameterException →
    InvalidParameter 400, AuthorizationErrorException → AuthorizationError 403; accounts and
    regions isolated."""
    missing = f"arn:aws:sns:{REGION}:{acct.account_id}:{unique('nope')}"
    for call in (
        lambda: sns.publish(TopicArn=missing, Message="x"),
        lambda: sns.get_topic_attributes(TopicArn=missing),
        lambda: sns.subscribe(TopicArn=missing, Protocol="http", Endpoint="http://127.0.9.1/x"),
        lambda: sns.list_subscriptions_by_topic(TopicArn=missing),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e)[:2] == ("NotFound", 404)
    arn = new_topic(sns)
    bad = [
        dict(TopicArn="not-an-arn", Message="x"),
        dict(TopicArn=arn, Message=""),
        dict(TopicArn=arn, Message="x", Subject="line\nbreak"),
        dict(TopicArn=arn, Message="x" * 262_145),
        dict(PhoneNumber="+15555550100", Message="x"),
        dict(TopicArn=arn, Message='{"no": "default"}', MessageStructure="json"),
    ]
    for kw in bad:
        with pytest.raises(ClientError) as e:
            sns.publish(**kw)
        assert err(e)[:2] == ("InvalidParameter", 400), kw
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="ftp://x")
    assert err(e)[:2] == ("InvalidParameter", 400)
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name="bad name!")
    assert err(e)[:2] == ("InvalidParameter", 400)
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=unique("q") + ".fifo", Attributes={"FifoTopic": "true"})
    assert err(e)[:2] == ("InvalidParameter", 400)
    # Another account's topic: AuthorizationError, and it is not listed.
    other = acct2.client("sns")
    with pytest.raises(ClientError) as e:
        other.publish(TopicArn=arn, Message="x")
    code, status, msg = err(e)
    assert (code, status) == ("AuthorizationError", 403) and arn in msg
    assert arn not in [t["TopicArn"] for t in other.list_topics()["Topics"]]
    # Another region: its own namespace.
    eu = acct.client("sns", region=OTHER_REGION)
    assert arn not in [t["TopicArn"] for t in eu.list_topics()["Topics"]]
    with pytest.raises(ClientError) as e:
        eu.get_topic_attributes(TopicArn=arn)
    assert err(e)[:2] == ("InvalidParameter", 400)
    eu_arn = eu.create_topic(Name=arn.rsplit(":", 1)[1])["TopicArn"]
    assert eu_arn == arn.replace(REGION, OTHER_REGION)
    # Operations not built stay NotImplemented, never a fake success.
    with pytest.raises(ClientError) as e:
        sns.list_platform_applications()
    assert err(e)[:2] == ("NotImplemented", 501)


def test_unsigned_requests_are_refused(sns_server):
    """SigV4 is required for every SNS action except the subscriber links."""
    data = urllib.parse.urlencode({"Action": "ListTopics", "Version": "2010-03-31"}).encode()
    req = urllib.request.Request(sns_server.endpoint + "/", data=data, method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code in (400, 403)


def test_aws_cli_sns(sns_server, acct):
    """The aws CLI (`aws sns …`) against the same endpoint."""
    cli = AwsCli(acct)
    name = unique("cli")
    arn = cli.json("sns", "create-topic", "--name", name)["TopicArn"]
    assert arn == f"arn:aws:sns:{REGION}:{acct.account_id}:{name}"
    topics = cli.json("sns", "list-topics")["Topics"]
    assert {"TopicArn": arn} in topics
    out = cli.json("sns", "publish", "--topic-arn", arn, "--message", "hi")
    assert "MessageId" in out
    p = cli("sns", "get-topic-attributes", "--topic-arn", arn + "x", check=False)
    assert p.returncode != 0 and "NotFound" in p.stderr
