"""Sending through the API (issue "Sending"): v2 SendEmail (Simple, Raw, Template) and
SendBulkEmail, v1 SendEmail/SendRawEmail/SendTemplatedEmail/SendBulkTemplatedEmail, with SES's
exact errors: Q-22 (not verified), A-113 (sandbox), Q-6/Q-105 (quotas), Q-109 (50 recipients),
Q-118 (rendering failure), Q-122 (bulk statuses)."""

import re

import pytest
from botocore.exceptions import ClientError

from conftest import create_account, err, unique

MESSAGE_ID = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000$")
SIMPLE = {"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}}}


def verified_domain(server, acct, production=True):
    """A domain identity of `acct`, verified by the operator override; optionally out of the
    sandbox."""
    domain = f"{unique('d')}.example.test"
    acct.ses.verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    if production:
        server.cli("account", "production", "--account", acct.account_id)
    return domain


@pytest.fixture(scope="module")
def sender(server):
    acct = create_account(server)
    return acct, verified_domain(server, acct)


def test_unverified_from_is_rejected_with_ses_text(server):
    """Q-22/H-49: MessageRejected 400, region upper-cased, identity as written."""
    acct = create_account(server)
    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_email(
            FromEmailAddress="Jane <jane@unverified.example>",
            Destination={"ToAddresses": ["x@example.net"]},
            Content=SIMPLE,
        )
    assert err(ei) == (
        "MessageRejected",
        400,
        "Email address is not verified. The following identities failed the check in region US-EAST-1: Jane <jane@unverified.example>",
    )
    with pytest.raises(ClientError) as ei:
        acct.ses.send_email(
            Source="jane@unverified.example",
            Destination={"ToAddresses": ["x@example.net"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )
    assert err(ei)[:2] == ("MessageRejected", 400)


def test_v2_simple_raw_template_return_message_ids(sender):
    """SendEmailResponse.MessageId in SES's shape (Q-146), unique per send."""
    acct, domain = sender
    v2 = acct.sesv2
    ids = set()
    r = v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["x@example.net"]}, Content=SIMPLE)
    ids.add(r["MessageId"])
    raw = f"From: a@{domain}\r\nTo: y@example.net\r\nSubject: raw\r\n\r\nbody\r\n".encode()
    r = v2.send_email(Content={"Raw": {"Data": raw}})
    ids.add(r["MessageId"])
    name = unique("tpl")
    v2.create_email_template(TemplateName=name, TemplateContent={"Subject": "Hi {{n}}", "Text": "Hello {{n}}"})
    r = v2.send_email(
        FromEmailAddress=f"a@{domain}",
        Destination={"ToAddresses": ["z@example.net"]},
        Content={"Template": {"TemplateName": name, "TemplateData": '{"n":"Ana"}'}},
    )
    ids.add(r["MessageId"])
    assert len(ids) == 3
    assert all(MESSAGE_ID.match(i) for i in ids), ids


def test_v1_send_operations(sender):
    """v1 SendEmail, SendRawEmail, SendTemplatedEmail, SendBulkTemplatedEmail."""
    acct, domain = sender
    v1 = acct.ses
    r = v1.send_email(
        Source=f"a@{domain}",
        Destination={"ToAddresses": ["x@example.net"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )
    assert MESSAGE_ID.match(r["MessageId"])
    raw = f"From: a@{domain}\r\nTo: y@example.net\r\nSubject: raw\r\n\r\nbody\r\n".encode()
    assert MESSAGE_ID.match(v1.send_raw_email(RawMessage={"Data": raw})["MessageId"])
    name = unique("tpl")
    v1.create_template(Template={"TemplateName": name, "SubjectPart": "Hi {{n}}", "TextPart": "Hello {{n}}"})
    r = v1.send_templated_email(
        Source=f"a@{domain}", Destination={"ToAddresses": ["x@example.net"]}, Template=name, TemplateData='{"n":"A"}'
    )
    assert MESSAGE_ID.match(r["MessageId"])
    r = v1.send_bulk_templated_email(
        Source=f"a@{domain}",
        Template=name,
        DefaultTemplateData='{"n":"default"}',
        Destinations=[
            {"Destination": {"ToAddresses": ["p@example.net"]}, "ReplacementTemplateData": '{"n":"P"}'},
            {"Destination": {"ToAddresses": ["not-an-address"]}},
        ],
    )
    statuses = [s["Status"] for s in r["Status"]]
    assert statuses == ["Success", "InvalidParameterValue"], r["Status"]
    assert MESSAGE_ID.match(r["Status"][0]["MessageId"])
    with pytest.raises(ClientError) as ei:
        v1.send_templated_email(
            Source=f"a@{domain}", Destination={"ToAddresses": ["x@example.net"]}, Template="missing-t", TemplateData="{}"
        )
    assert err(ei)[:2] == ("TemplateDoesNotExist", 400)


def test_missing_template_variable_is_a_rendering_failure_not_an_error(sender):
    """Q-118: the call returns a MessageId; the failure is reported as an event."""
    acct, domain = sender
    name = unique("tpl")
    acct.sesv2.create_email_template(TemplateName=name, TemplateContent={"Subject": "Hi {{who}}", "Text": "x"})
    r = acct.sesv2.send_email(
        FromEmailAddress=f"a@{domain}",
        Destination={"ToAddresses": ["x@example.net"]},
        Content={"Template": {"TemplateName": name, "TemplateData": "{}"}},
    )
    assert MESSAGE_ID.match(r["MessageId"])


def test_bulk_email_per_destination_results(sender):
    """Q-122: SendBulkEmail returns one BulkEmailEntryResult per entry."""
    acct, domain = sender
    name = unique("tpl")
    acct.sesv2.create_email_template(TemplateName=name, TemplateContent={"Subject": "S {{n}}", "Text": "T"})
    r = acct.sesv2.send_bulk_email(
        FromEmailAddress=f"a@{domain}",
        DefaultContent={"Template": {"TemplateName": name, "TemplateData": '{"n":1}'}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["ok@example.net"]}},
            {"Destination": {"ToAddresses": ["bad"]}},
        ],
    )
    res = r["BulkEmailEntryResults"]
    assert [x["Status"] for x in res] == ["SUCCESS", "INVALID_PARAMETER"]
    assert MESSAGE_ID.match(res[0]["MessageId"]) and "Error" in res[1]


def test_recipient_limit_is_50(sender):
    """Q-109: more than 50 recipients → v2 BadRequestException / v1 InvalidParameterValue."""
    acct, domain = sender
    to = [f"r{i}@example.net" for i in range(51)]
    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": to}, Content=SIMPLE)
    assert err(ei) == ("BadRequestException", 400, "Recipient count exceeds 50.")
    with pytest.raises(ClientError) as ei:
        acct.ses.send_email(
            Source=f"a@{domain}",
            Destination={"ToAddresses": to},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )
    assert err(ei) == ("InvalidParameterValue", 400, "Recipient count exceeds 50.")


def test_sandbox_requires_verified_recipients(server):
    """A-113/E-81: in the sandbox an unverified recipient is rejected; simulator addresses and
    verified identities are allowed."""
    acct = create_account(server)
    domain = verified_domain(server, acct, production=False)
    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_email(
            FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["stranger@example.net"]}, Content=SIMPLE
        )
    assert err(ei) == (
        "MessageRejected",
        400,
        "Email address is not verified. The following identities failed the check in region US-EAST-1: stranger@example.net",
    )
    r = acct.sesv2.send_email(
        FromEmailAddress=f"a@{domain}",
        Destination={"ToAddresses": ["success@simulator.amazonses.com", f"b@{domain}"]},
        Content=SIMPLE,
    )
    assert MESSAGE_ID.match(r["MessageId"])


def test_daily_quota_is_all_or_nothing(server):
    """Q-6/Q-105: v2 LimitExceededException, v1 Throttling, text 'Daily message quota exceeded.';
    a send larger than the remaining quota is refused whole; SentLast24Hours counts recipients."""
    acct = create_account(server)
    domain = verified_domain(server, acct)
    server.cli("account", "set-quota", "--account", acct.account_id, "--max-24h-send", "3", "--max-send-rate", "100")
    v2 = acct.sesv2
    v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["a@example.net", "b@example.net"]}, Content=SIMPLE)
    with pytest.raises(ClientError) as ei:
        v2.send_email(
            FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["c@example.net", "d@example.net"]}, Content=SIMPLE
        )
    assert err(ei) == ("LimitExceededException", 400, "Daily message quota exceeded.")
    assert acct.ses.get_send_quota()["SentLast24Hours"] == 2.0
    v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["c@example.net"]}, Content=SIMPLE)
    with pytest.raises(ClientError) as ei:
        acct.ses.send_email(
            Source=f"a@{domain}",
            Destination={"ToAddresses": ["e@example.net"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )
    assert err(ei) == ("Throttling", 400, "Daily message quota exceeded.")
    # Simulator recipients do not count against the daily quota (E-82).
    v2.send_email(
        FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["success@simulator.amazonses.com"]}, Content=SIMPLE
    )


def test_max_send_rate(server):
    """Q-6/Q-106: over the per-second rate → v2 429 TooManyRequestsException."""
    acct = create_account(server)
    domain = verified_domain(server, acct)
    server.cli("account", "set-quota", "--account", acct.account_id, "--max-24h-send", "1000", "--max-send-rate", "1")
    v2 = acct.sesv2
    to = {"ToAddresses": ["a@example.net"]}
    codes = []
    for _ in range(4):
        try:
            v2.send_email(FromEmailAddress=f"a@{domain}", Destination=to, Content=SIMPLE)
            codes.append("ok")
        except ClientError as e:
            codes.append((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]))
    assert codes[0] == "ok"
    assert ("TooManyRequestsException", 429, "Maximum sending rate exceeded.") in codes, codes


def test_paused_account_and_configuration_set(server):
    """Q-244: v2 SendingPausedException; v1 AccountSendingPausedException /
    ConfigurationSetSendingPausedException; unknown set → v2 NotFoundException, v1
    ConfigurationSetDoesNotExist (Q-127)."""
    acct = create_account(server)
    domain = verified_domain(server, acct)
    v2, v1 = acct.sesv2, acct.ses
    cs = unique("cs")
    v2.create_configuration_set(ConfigurationSetName=cs, SendingOptions={"SendingEnabled": False})
    with pytest.raises(ClientError) as ei:
        v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Content=SIMPLE, ConfigurationSetName=cs)
    assert err(ei)[:2] == ("SendingPausedException", 400)
    msg = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}
    with pytest.raises(ClientError) as ei:
        v1.send_email(Source=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Message=msg, ConfigurationSetName=cs)
    assert err(ei)[:2] == ("ConfigurationSetSendingPausedException", 400)
    with pytest.raises(ClientError) as ei:
        v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Content=SIMPLE, ConfigurationSetName="nope")
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        v1.send_email(Source=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Message=msg, ConfigurationSetName="nope")
    assert err(ei)[:2] == ("ConfigurationSetDoesNotExist", 400)
    v1.update_account_sending_enabled(Enabled=False)
    with pytest.raises(ClientError) as ei:
        v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Content=SIMPLE)
    assert err(ei) == ("SendingPausedException", 400, "Account is paused")
    with pytest.raises(ClientError) as ei:
        v1.send_email(Source=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Message=msg)
    assert err(ei)[:2] == ("AccountSendingPausedException", 400)


def test_content_rules(sender):
    """B-65/Q-21: a forbidden custom header → BadRequestException; B-67: blocked attachment →
    MessageRejected; B-60: duplicate Subject → MessageRejected."""
    acct, domain = sender
    v2 = acct.sesv2
    content = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}, "Headers": [{"Name": "From", "Value": "x@y.z"}]}}
    with pytest.raises(ClientError) as ei:
        v2.send_email(FromEmailAddress=f"a@{domain}", Destination={"ToAddresses": ["a@example.net"]}, Content=content)
    assert err(ei)[:2] == ("BadRequestException", 400)
    raw = (
        f"From: a@{domain}\r\nTo: b@example.net\r\nSubject: one\r\nSubject: two\r\n\r\nbody\r\n"
    ).encode()
    with pytest.raises(ClientError) as ei:
        v2.send_email(Content={"Raw": {"Data": raw}})
    assert err(ei)[:2] == ("MessageRejected", 400)
    raw = (
        f"From: a@{domain}\r\nTo: b@example.net\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        '--b\r\nContent-Type: application/octet-stream; name="run.exe"\r\nContent-Disposition: attachment; filename="run.exe"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n"
    ).encode()
    with pytest.raises(ClientError) as ei:
        acct.ses.send_raw_email(RawMessage={"Data": raw})
    assert err(ei)[:2] == ("MessageRejected", 400)


def test_x_ses_headers_in_raw_messages(sender):
    """E-93/E-64/Q-127: X-SES-CONFIGURATION-SET selects the set (unknown → NotFoundException);
    X-SES-*-ARN headers naming another account's identity are refused (MessageRejected, Q-41);
    this account's own ARN is accepted."""
    acct, domain = sender

    def raw(extra):
        return (f"From: a@{domain}\r\nTo: x@example.net\r\nSubject: s\r\n{extra}\r\nbody\r\n").encode()

    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_email(Content={"Raw": {"Data": raw("X-SES-CONFIGURATION-SET: no-such-set\r\n")}})
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        acct.ses.send_raw_email(
            RawMessage={"Data": raw(f"X-SES-SOURCE-ARN: arn:aws:ses:us-east-1:999999999999:identity/{domain}\r\n")}
        )
    assert err(ei)[:2] == ("MessageRejected", 400)
    own = f"arn:aws:ses:us-east-1:{acct.account_id}:identity/{domain}"
    r = acct.ses.send_raw_email(RawMessage={"Data": raw(f"X-SES-FROM-ARN: {own}\r\n")})
    assert MESSAGE_ID.match(r["MessageId"])
