"""Contact lists, list management on send, hosted unsubscribe and the Subscription event
(spec F-166..F-193, SH-12, G-54; DECISIONS Q-151, Q-195..Q-201, Q-273; KA-10, KA-11, KA-12):
unmodified boto3 `sesv2` and the aws CLI against a real `sesame serve`.

- CRUD and errors on the suite's server (model shapes `CreateContactList`…`ListContacts`).
- The KA-11 scenario end to end on a `sesame serve --dev` of this module (127.0.15.2; capture
  mode: `GET /_aws/ses` returns the exact signed bytes; its own store — on the PostgreSQL run a
  fresh database of that server): a list-managed send creates the contact and carries
  `List-Unsubscribe` + `List-Unsubscribe-Post` and the footer URL, its DKIM signature verifies
  with dkimpy (an independent verifier); a real HTTP one-click POST (RFC 8058) unsubscribes from
  the topic only; a Firehose `file://` stream of the message's configuration set receives the
  `Subscription` record; the next send to the contact bounces `UnsubscribedRecipient` and is
  not delivered; tampered tokens change nothing.
"""

import base64
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import dkim
import pytest
from botocore.exceptions import ClientError

from conftest import _SERVERS, Server, create_account, err, unique
from test_event_publishing import free_port

REGION = "us-east-1"
SERVER_HOST = "127.0.15.2"
PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}"


def topic(name, default, display=None, description=None):
    t = {"TopicName": name, "DisplayName": display or f"{name} news", "DefaultSubscriptionStatus": default}
    if description:
        t["Description"] = description
    return t


@pytest.fixture
def fresh(server):
    """A new account: contact lists are limited to one per account (F-168)."""
    return create_account(server)


# ---------------------------------------------------------------- CRUD and errors (KA-10)

def test_contact_list_crud_limits_and_tags(fresh):
    """F-168, F-169, F-171, Q-195, Q-25: CreateContactList/GetContactList shapes; a second
    list → LimitExceededException; the same name → AlreadyExistsException; 21 topics →
    BadRequestException; unknown list → NotFoundException; UpdateContactList replaces topics
    and description; ListContactLists; tags through the `contact-list/<name>` ARN."""
    v2 = fresh.sesv2
    v2.create_contact_list(
        ContactListName="news",
        Description="Our newsletter",
        Topics=[topic("Sports", "OPT_OUT", description="Scores"), topic("Cycling", "OPT_IN")],
        Tags=[{"Key": "team", "Value": "growth"}],
    )
    g = v2.get_contact_list(ContactListName="news")
    assert set(g) - {"ResponseMetadata"} == {
        "ContactListName", "Topics", "Description", "CreatedTimestamp", "LastUpdatedTimestamp", "Tags"}
    assert g["ContactListName"] == "news" and g["Description"] == "Our newsletter"
    assert g["Topics"] == [
        {"TopicName": "Sports", "DisplayName": "Sports news", "Description": "Scores",
         "DefaultSubscriptionStatus": "OPT_OUT"},
        {"TopicName": "Cycling", "DisplayName": "Cycling news", "DefaultSubscriptionStatus": "OPT_IN"},
    ]
    assert g["Tags"] == [{"Key": "team", "Value": "growth"}]
    assert abs(g["CreatedTimestamp"].timestamp() - time.time()) < 120

    with pytest.raises(ClientError) as e:
        v2.create_contact_list(ContactListName="second")
    assert err(e)[:2] == ("LimitExceededException", 400)
    with pytest.raises(ClientError) as e:
        v2.create_contact_list(ContactListName="news")
    assert err(e)[:2] == ("AlreadyExistsException", 400)
    with pytest.raises(ClientError) as e:
        v2.get_contact_list(ContactListName="nope")
    assert err(e)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as e:
        v2.update_contact_list(ContactListName="news", Topics=[topic(f"t{i}", "OPT_IN") for i in range(21)])
    assert err(e)[0] == "BadRequestException"

    v2.update_contact_list(ContactListName="news", Topics=[topic("Cycling", "OPT_OUT")], Description="v2")
    g = v2.get_contact_list(ContactListName="news")
    assert [t["DefaultSubscriptionStatus"] for t in g["Topics"]] == ["OPT_OUT"] and g["Description"] == "v2"
    lists = v2.list_contact_lists()["ContactLists"]
    assert [set(x) for x in lists] == [{"ContactListName", "LastUpdatedTimestamp"}]
    assert lists[0]["ContactListName"] == "news"

    arn = fresh.arn("contact-list/news")
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "growth"}, {"Key": "env", "Value": "prod"}]

    v2.delete_contact_list(ContactListName="news")
    with pytest.raises(ClientError) as e:
        v2.delete_contact_list(ContactListName="news")
    assert err(e)[:2] == ("NotFoundException", 404)


def test_twenty_one_topics_rejected_at_create(fresh):
    """F-168, KA-10: a list with 21 topics is refused (20 is the limit)."""
    v2 = fresh.sesv2
    with pytest.raises(ClientError) as e:
        v2.create_contact_list(ContactListName="big", Topics=[topic(f"t{i}", "OPT_IN") for i in range(21)])
    code, status, msg = err(e)
    assert (code, status) == ("BadRequestException", 400) and "at most 20 topics" in msg
    v2.create_contact_list(ContactListName="big", Topics=[topic(f"t{i}", "OPT_IN") for i in range(20)])
    assert len(v2.get_contact_list(ContactListName="big")["Topics"]) == 20


def test_contacts_crud_filters_and_pages(fresh):
    """F-170, F-171, F-176, Q-196, Q-197, Q-273, KA-10: CreateContact/GetContact/UpdateContact/
    DeleteContact shapes and errors; ListContacts with UseDefaultIfPreferenceUnavailable true
    vs false; PageSize/NextToken; a bad NextToken; deleting the list deletes its contacts."""
    v2 = fresh.sesv2
    v2.create_contact_list(ContactListName="news", Topics=[topic("Sports", "OPT_OUT"), topic("Cycling", "OPT_IN")])
    v2.create_contact(ContactListName="news", EmailAddress="a@example.net",
                      TopicPreferences=[{"TopicName": "Cycling", "SubscriptionStatus": "OPT_IN"}],
                      AttributesData='{"Name":"Ann"}')
    v2.create_contact(ContactListName="news", EmailAddress="b@example.net")
    v2.create_contact(ContactListName="news", EmailAddress="c@example.net",
                      TopicPreferences=[{"TopicName": "Cycling", "SubscriptionStatus": "OPT_OUT"}])
    v2.create_contact(ContactListName="news", EmailAddress="d@example.net", UnsubscribeAll=True)

    for kw, code in [
        (dict(ContactListName="news", EmailAddress="a@example.net"), "AlreadyExistsException"),
        (dict(ContactListName="nope", EmailAddress="x@example.net"), "NotFoundException"),
        (dict(ContactListName="news", EmailAddress="x@example.net", AttributesData="[1]"), "BadRequestException"),
        (dict(ContactListName="news", EmailAddress="x@example.net",
              TopicPreferences=[{"TopicName": "Golf", "SubscriptionStatus": "OPT_IN"}]), "BadRequestException"),
        (dict(ContactListName="news", EmailAddress="not-an-address"), "BadRequestException"),
    ]:
        with pytest.raises(ClientError) as e:
            v2.create_contact(**kw)
        assert err(e)[0] == code, kw

    c = v2.get_contact(ContactListName="news", EmailAddress="a@example.net")
    assert set(c) - {"ResponseMetadata"} == {
        "ContactListName", "EmailAddress", "TopicPreferences", "TopicDefaultPreferences", "UnsubscribeAll",
        "AttributesData", "CreatedTimestamp", "LastUpdatedTimestamp"}
    assert c["TopicPreferences"] == [{"TopicName": "Cycling", "SubscriptionStatus": "OPT_IN"}]
    assert c["TopicDefaultPreferences"] == [
        {"TopicName": "Sports", "SubscriptionStatus": "OPT_OUT"},
        {"TopicName": "Cycling", "SubscriptionStatus": "OPT_IN"}]
    assert (c["UnsubscribeAll"], c["AttributesData"]) == (False, '{"Name":"Ann"}')

    def listed(**flt):
        kw = {"ContactListName": "news"}
        if flt:
            kw["Filter"] = flt
        return [x["EmailAddress"] for x in v2.list_contacts(**kw)["Contacts"]]

    assert listed() == ["a@example.net", "b@example.net", "c@example.net", "d@example.net"]
    cycling_in = lambda use_default: listed(FilteredStatus="OPT_IN", TopicFilter={
        "TopicName": "Cycling", "UseDefaultIfPreferenceUnavailable": use_default})
    assert cycling_in(False) == ["a@example.net"]
    assert cycling_in(True) == ["a@example.net", "b@example.net"]
    assert listed(FilteredStatus="OPT_OUT") == ["d@example.net"]
    one = v2.list_contacts(ContactListName="news", Filter={"FilteredStatus": "OPT_IN"})["Contacts"][0]
    assert set(one) == {"EmailAddress", "TopicPreferences", "TopicDefaultPreferences", "UnsubscribeAll",
                        "LastUpdatedTimestamp"}

    page = v2.list_contacts(ContactListName="news", PageSize=3)
    assert [x["EmailAddress"] for x in page["Contacts"]] == ["a@example.net", "b@example.net", "c@example.net"]
    rest = v2.list_contacts(ContactListName="news", PageSize=3, NextToken=page["NextToken"])
    assert [x["EmailAddress"] for x in rest["Contacts"]] == ["d@example.net"] and "NextToken" not in rest
    with pytest.raises(ClientError) as e:
        v2.list_contacts(ContactListName="news", NextToken=page["NextToken"] + "x")
    assert err(e)[0] == "BadRequestException"
    with pytest.raises(ClientError) as e:
        v2.list_contacts(ContactListName="news", Filter={"TopicFilter": {"TopicName": "Golf"}})
    assert err(e)[0] == "BadRequestException"

    v2.update_contact(ContactListName="news", EmailAddress="b@example.net",
                      TopicPreferences=[{"TopicName": "Sports", "SubscriptionStatus": "OPT_IN"}])
    b = v2.get_contact(ContactListName="news", EmailAddress="b@example.net")
    assert b["TopicPreferences"] == [{"TopicName": "Sports", "SubscriptionStatus": "OPT_IN"}]
    v2.delete_contact(ContactListName="news", EmailAddress="b@example.net")
    for call in (v2.get_contact, v2.delete_contact):
        with pytest.raises(ClientError) as e:
            call(ContactListName="news", EmailAddress="b@example.net")
        assert err(e)[:2] == ("NotFoundException", 404)

    v2.delete_contact_list(ContactListName="news")
    v2.create_contact_list(ContactListName="news")
    assert v2.list_contacts(ContactListName="news")["Contacts"] == []


def test_aws_cli_contact_lists(server):
    """The documented CLI flow (docs/contact-lists.md) with the real aws CLI."""
    from conftest import AwsCli
    aws = AwsCli(create_account(server))
    aws("sesv2", "create-contact-list", "--contact-list-name", "news",
        "--topics", "TopicName=Deals,DisplayName=Deals,DefaultSubscriptionStatus=OPT_OUT")
    aws("sesv2", "create-contact", "--contact-list-name", "news", "--email-address", "ann@example.net",
        "--topic-preferences", "TopicName=Deals,SubscriptionStatus=OPT_IN")
    got = aws.json("sesv2", "list-contacts", "--contact-list-name", "news", "--filter",
                   "FilteredStatus=OPT_IN,TopicFilter={TopicName=Deals,UseDefaultIfPreferenceUnavailable=false}")
    assert [c["EmailAddress"] for c in got["Contacts"]] == ["ann@example.net"]


# ---------------------------------------------------------------- KA-11 end to end

@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """`sesame serve --dev` on 127.0.15.2: capture mode, unsubscribe URLs on its listener. Its
    own store — SQLite, or on the PostgreSQL run a fresh database on the same server, so no
    other server of the suite delivers (by SMTP) what this one queues."""
    data = tmp_path_factory.mktemp("sesame-contacts") / "data"
    data.mkdir()
    s = Server(data, dev=True)
    s.env["SESAME_HTTP_ADDR"] = f"{SERVER_HOST}:{free_port(SERVER_HOST)}"
    pg = os.environ.get("SESAME_DATABASE_URL", "")
    db_admin = None
    if pg.startswith("postgres"):
        base = pg.split("?")[0]
        server_url, admin_db = base.rsplit("/", 1)
        name = f"sesame_contacts_{uuid.uuid4().hex[:12]}"
        db_admin = (f"{server_url}/{admin_db}", name)
        subprocess.run(["createdb", f"--maintenance-db={db_admin[0]}", name], check=True)
        s.env["SESAME_DATABASE_URL"] = f"{server_url}/{name}"
    s.start()
    _SERVERS.append(s)
    yield s
    s.stop()
    if db_admin:
        subprocess.run(["dropdb", f"--maintenance-db={db_admin[0]}", "--if-exists", db_admin[1]], check=False)


def dkim_sender(server):
    """A production account with a v2 domain identity (Easy DKIM, forced verified) and the TXT
    records of its keys as the operator would publish them: (account, domain, records)."""
    acct = create_account(server)
    server.cli("account", "production", "--account", acct.account_id)
    domain = f"{unique('d')}.example.test"
    acct.sesv2.create_email_identity(EmailIdentity=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    recs = json.loads(server.cli("identity", "dkim-records", "--json", "--account", acct.account_id, domain).stdout)
    by_name = {r["name"].rstrip(".").lower(): r for r in recs}
    txt = {}
    for r in recs:  # CNAME <t>._domainkey.<d> → <t>.dkim.<sd> TXT
        if r["type"] == "CNAME":
            target = by_name.get(r["value"].rstrip(".").lower())
            if target and target["type"] == "TXT":
                txt[r["name"].rstrip(".").lower()] = target["value"]
        elif r["type"] == "TXT":
            txt[r["name"].rstrip(".").lower()] = r["value"]
    return acct, domain, txt


def inbox(server, message_id):
    with urllib.request.urlopen(f"{server.endpoint}/_aws/ses?id={message_id}", timeout=10) as r:
        return json.loads(r.read())["messages"]


def wait_for(what, pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def firehose_records(root: Path):
    out = []
    for f in sorted(root.rglob("*.jsonl")):
        out.extend(json.loads(line) for line in f.read_bytes().split(b"\n") if line)
    return out


def http(method, url, data=None, ctype="application/x-www-form-urlencoded"):
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def key_paths(v, prefix=""):
    """Every key path of a JSON value; array items as `[]`."""
    if isinstance(v, dict):
        out = set()
        for k, x in v.items():
            p = f"{prefix}.{k}" if prefix else k
            out |= {p} | key_paths(x, p)
        return out
    if isinstance(v, list):
        out = set()
        for x in v:
            out |= key_paths(x, f"{prefix}[]")
        return out
    return set()


def tamper(url):
    """The URL with its token altered two ways: one MAC character changed, and the payload
    re-encoded for the whole list (no topic) under the original MAC."""
    base, token = url.rsplit("/", 1)
    payload, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.pop("p", None)
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    return [f"{base}/{payload}.{flipped}", f"{base}/{forged}.{mac}"]


def test_list_management_end_to_end(dev_server, tmp_path):
    """KA-11, F-177..F-193, SH-12, G-54, F/Z-14."""
    s = dev_server
    acct, domain, txt = dkim_sender(s)
    v2 = acct.sesv2
    v2.create_contact_list(ContactListName="news", Description="Weekly news",
                           Topics=[topic("Sports", "OPT_IN", "Sports news"), topic("Deals", "OPT_OUT", "Deals")])
    # The message's configuration set publishes to a Firehose stand-in writing JSON lines.
    root = tmp_path / "firehose"
    stream = unique("fh")
    s.cli("firehose", "create", "--account", acct.account_id, "--to", f"file://{root}", stream)
    v2.create_configuration_set(ConfigurationSetName="cs")
    v2.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="fh",
        EventDestination={
            "Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE", "SUBSCRIPTION"],
            "KinesisFirehoseDestination": {
                "IamRoleArn": f"arn:aws:iam::{acct.account_id}:role/ses-firehose",
                "DeliveryStreamArn": f"arn:aws:firehose:{REGION}:{acct.account_id}:deliverystream/{stream}"}})

    src, rcpt = f"news@{domain}", "reader@example.net"

    def send(to, topic_name="Sports", content=None):
        return v2.send_email(
            FromEmailAddress=src, Destination={"ToAddresses": to}, ConfigurationSetName="cs",
            Content=content or {"Simple": {"Subject": {"Data": "news"}, "Body": {
                "Text": {"Data": f"one {PLACEHOLDER}\ntwo {PLACEHOLDER}\n"},
                "Html": {"Data": f"<p><a href=\"{PLACEHOLDER}\">three</a></p>"}}}},
            ListManagementOptions={"ContactListName": "news", "TopicName": topic_name})["MessageId"]

    # an unknown list is the send's NotFoundException.
    with pytest.raises(ClientError) as e:
        v2.send_email(FromEmailAddress=src, Destination={"ToAddresses": [rcpt]},
                      Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
                      ListManagementOptions={"ContactListName": "nope"})
    assert err(e)[:2] == ("NotFoundException", 404)

    # F-178: the send creates the contact, with no explicit preference.
    first = send([rcpt])
    c = v2.get_contact(ContactListName="news", EmailAddress=rcpt)
    assert (c["TopicPreferences"], c["UnsubscribeAll"]) == ([], False)

    # F-188, F-191: header fields and the first two placeholders; the third stays; signed.
    raw = wait_for("the captured message", lambda: inbox(s, first))[0]["RawData"]
    url = re.search(r"\r\nList-Unsubscribe: <([^>]+)>\r\n", raw).group(1)
    assert url.startswith(f"{s.endpoint}/unsubscribe/"), url
    assert "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    body = raw.split("\r\n\r\n", 1)[1]
    assert body.count(url) == 2 and body.count(PLACEHOLDER) == 1, body
    assert re.search(r"h=[^;]*List-Unsubscribe:List-Unsubscribe-Post;", raw.replace("\r\n\t ", "").replace("\r\n ", ""))

    def dnsfunc(name, timeout=5):
        v = txt.get(name.decode().rstrip(".").lower())
        return v.encode() if v else None

    assert dkim.verify(raw.encode(), dnsfunc=dnsfunc), "dkimpy: the customer signature verifies"

    # KA-12, F-189: two recipients → nothing added, placeholders left.
    multi = send([f"m1@{unique()}.example.net", f"m2@{unique()}.example.net"])
    mraw = wait_for("the multi-recipient message", lambda: inbox(s, multi))[0]["RawData"]
    assert "List-Unsubscribe" not in mraw and mraw.count(PLACEHOLDER) == 3

    # Tampered tokens: 400 on GET and POST, nothing changes.
    for bad in tamper(url):
        assert http("GET", bad)[0] == 400
        assert http("POST", bad, b"List-Unsubscribe=One-Click")[0] == 400
    assert v2.get_contact(ContactListName="news", EmailAddress=rcpt)["TopicPreferences"] == []

    # The landing page (GET changes nothing).
    status, page = http("GET", url)
    assert status == 200 and "Sports news" in page and "Deals" in page and rcpt in page
    assert v2.get_contact(ContactListName="news", EmailAddress=rcpt)["TopicPreferences"] == []

    # RFC 8058 one-click: that topic only (F-186, F-192).
    status, _ = http("POST", url, b"List-Unsubscribe=One-Click")
    assert status == 200
    c = v2.get_contact(ContactListName="news", EmailAddress=rcpt)
    assert c["TopicPreferences"] == [{"TopicName": "Sports", "SubscriptionStatus": "OPT_OUT"}]
    assert c["UnsubscribeAll"] is False

    # F-179, F/Z-14: the next send for that topic bounces and is not delivered.
    later = send([rcpt])

    def records():
        got = firehose_records(root)
        have = {(r["mail"]["messageId"], r["eventType"]) for r in got}
        want = {(first, "Send"), (first, "Delivery"), (first, "Subscription"), (later, "Send"), (later, "Bounce")}
        return got if want <= have else None

    got = wait_for("the Firehose records", records)
    sub = [r for r in got if r["eventType"] == "Subscription"]
    assert len(sub) == 1
    sub = sub[0]
    # G-54, G-55: exactly these key paths.
    defaults = [{"topicName": "Sports", "subscriptionStatus": "OptIn"},
                {"topicName": "Deals", "subscriptionStatus": "OptOut"}]
    assert sub["subscription"] == {
        "contactList": "news",
        "timestamp": sub["subscription"]["timestamp"],
        "source": "UnsubscribeHeader",
        "newTopicPreferences": {"unsubscribeAll": False,
                                "topicSubscriptionStatus": [{"topicName": "Sports", "subscriptionStatus": "OptOut"}],
                                "topicDefaultSubscriptionStatus": defaults},
        "oldTopicPreferences": {"unsubscribeAll": False, "topicSubscriptionStatus": [],
                                "topicDefaultSubscriptionStatus": defaults},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sub["subscription"]["timestamp"])
    mail_paths = {p for p in key_paths(sub) if p.startswith("mail")}
    send_record = next(r for r in got if r["eventType"] == "Send" and r["mail"]["messageId"] == first)
    assert mail_paths == {p for p in key_paths(send_record) if p.startswith("mail")}
    assert {p for p in key_paths(sub) if not p.startswith("mail")} == {
        "eventType", "subscription", "subscription.contactList", "subscription.timestamp", "subscription.source",
        "subscription.newTopicPreferences", "subscription.oldTopicPreferences",
        *(f"subscription.{w}TopicPreferences.{k}" for w in ("new", "old")
          for k in ("unsubscribeAll", "topicSubscriptionStatus", "topicDefaultSubscriptionStatus",
                    "topicDefaultSubscriptionStatus[].topicName",
                    "topicDefaultSubscriptionStatus[].subscriptionStatus")),
        "subscription.newTopicPreferences.topicSubscriptionStatus[].topicName",
        "subscription.newTopicPreferences.topicSubscriptionStatus[].subscriptionStatus",
    }
    assert sub["mail"]["messageId"] == first and sub["mail"]["tags"]["ses:configuration-set"] == ["cs"]

    bounce = next(r for r in got if r["eventType"] == "Bounce" and r["mail"]["messageId"] == later)["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "General")
    assert bounce["bouncedRecipients"] == [{"emailAddress": rcpt, "action": "failed", "status": "5.7.1",
                                            "diagnosticCode": "Recipient unsubscribed from list/topic"}]
    assert not any(r["eventType"] == "Delivery" and r["mail"]["messageId"] == later for r in got)
    assert inbox(s, later) == []

    # F-187: the landing page's form (source UnsubscribeLink) opts back in to Sports.
    form = urllib.parse.urlencode({"form": "preferences", "topic.Sports": "OPT_IN", "topic.Deals": "OPT_OUT"})
    status, page = http("POST", url, form.encode())
    assert status == 200 and "Your preferences have been saved." in page
    c = v2.get_contact(ContactListName="news", EmailAddress=rcpt)
    assert c["TopicPreferences"] == [{"TopicName": "Sports", "SubscriptionStatus": "OPT_IN"},
                                     {"TopicName": "Deals", "SubscriptionStatus": "OPT_OUT"}]
    link = wait_for("the second Subscription record", lambda: [
        r for r in firehose_records(root)
        if r["eventType"] == "Subscription" and r["subscription"]["source"] == "UnsubscribeLink"])
    assert link[0]["subscription"]["oldTopicPreferences"]["topicSubscriptionStatus"] == [
        {"topicName": "Sports", "subscriptionStatus": "OptOut"}]

    # once the list is gone, the link changes nothing.
    v2.delete_contact_list(ContactListName="news")
    assert http("POST", url, b"List-Unsubscribe=One-Click")[0] == 404
