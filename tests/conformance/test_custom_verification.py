"""Custom verification email templates and SendCustomVerificationEmail, v1 and v2 (spec
D-51..D-60; DECISIONS Q-101 identity created at send time, Q-102 v1 partial / v2 full update,
Q-103 limits, HTML allow-list, sandbox), plus the verification email of VerifyEmailIdentity /
CreateEmailIdentity (D-31, Q-83, Q-84: the identity stays PENDING until the link is clicked —
the click itself is tested in crates/sesame/tests/email_verification_link.rs)."""

import json
import re

import pytest
from botocore.exceptions import ClientError

from conftest import address, create_account, err, unique

MESSAGE_ID = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000$")
CONTENT = "<html><body><h1>Welcome</h1><p>Please confirm your address.</p></body></html>"


def verified_domain(server, acct):
    domain = f"{unique('d')}.example.test"
    acct.ses.verify_domain_identity(Domain=domain)
    server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)
    return domain


@pytest.fixture(scope="module")
def sandbox(server):
    """A sandboxed account with a verified domain."""
    acct = create_account(server)
    return acct, verified_domain(server, acct)


@pytest.fixture(scope="module")
def prod(server):
    """A production account with a verified domain."""
    acct = create_account(server)
    domain = verified_domain(server, acct)
    server.cli("account", "production", "--account", acct.account_id)
    return acct, domain


def v1_args(name, domain, **over):
    a = dict(
        TemplateName=name,
        FromEmailAddress=f"verify@{domain}",
        TemplateSubject="Please verify",
        TemplateContent=CONTENT,
        SuccessRedirectionURL="https://example.com/ok",
        FailureRedirectionURL="https://example.com/ko",
    )
    a.update(over)
    return a


def test_v1_round_trip_and_partial_update(sandbox):
    """ses.json Create/Get/List/Update/DeleteCustomVerificationEmailTemplate; Q-102 partial."""
    acct, domain = sandbox
    ses = acct.ses
    name = unique("cv")
    assert ses.create_custom_verification_email_template(**v1_args(name, domain))["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = ses.get_custom_verification_email_template(TemplateName=name)
    got.pop("ResponseMetadata")
    assert got == {
        "TemplateName": name,
        "FromEmailAddress": f"verify@{domain}",
        "TemplateSubject": "Please verify",
        "TemplateContent": CONTENT,
        "SuccessRedirectionURL": "https://example.com/ok",
        "FailureRedirectionURL": "https://example.com/ko",
    }
    # Partial: only the subject changes.
    ses.update_custom_verification_email_template(TemplateName=name, TemplateSubject="New subject")
    got = ses.get_custom_verification_email_template(TemplateName=name)
    assert got["TemplateSubject"] == "New subject"
    assert got["TemplateContent"] == CONTENT
    assert got["SuccessRedirectionURL"] == "https://example.com/ok"
    listed = ses.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]
    assert {
        "TemplateName": name,
        "FromEmailAddress": f"verify@{domain}",
        "TemplateSubject": "New subject",
        "SuccessRedirectionURL": "https://example.com/ok",
        "FailureRedirectionURL": "https://example.com/ko",
    } in listed
    ses.delete_custom_verification_email_template(TemplateName=name)
    # The model lists no error for Delete: deleting again succeeds.
    ses.delete_custom_verification_email_template(TemplateName=name)
    with pytest.raises(ClientError) as ei:
        ses.get_custom_verification_email_template(TemplateName=name)
    assert err(ei)[:2] == ("CustomVerificationEmailTemplateDoesNotExist", 400)


def test_v1_errors(sandbox):
    """ses.json error shapes of CreateCustomVerificationEmailTemplate / Update (D-52, D-58)."""
    acct, domain = sandbox
    ses = acct.ses
    name = unique("cv")
    ses.create_custom_verification_email_template(**v1_args(name, domain))
    with pytest.raises(ClientError) as ei:
        ses.create_custom_verification_email_template(**v1_args(name, domain))
    assert err(ei)[:2] == ("CustomVerificationEmailTemplateAlreadyExists", 400)
    for bad in ["<p>x</p><script>alert(1)</script>", "<p>x</p><!-- comment -->", '<p onclick="x()">x</p>', '<a href="https://x">x</a>']:
        with pytest.raises(ClientError) as ei:
            ses.create_custom_verification_email_template(**v1_args(unique("cv"), domain, TemplateContent=bad))
        assert err(ei)[:2] == ("CustomVerificationEmailInvalidContent", 400), bad
        with pytest.raises(ClientError) as ei:
            ses.update_custom_verification_email_template(TemplateName=name, TemplateContent=bad)
        assert err(ei)[:2] == ("CustomVerificationEmailInvalidContent", 400), bad
    with pytest.raises(ClientError) as ei:
        ses.create_custom_verification_email_template(**v1_args(unique("cv"), domain, FromEmailAddress="x@unverified.example.net"))
    assert err(ei)[:2] == ("FromEmailAddressNotVerified", 400)
    with pytest.raises(ClientError) as ei:
        ses.update_custom_verification_email_template(TemplateName=name, FromEmailAddress="x@unverified.example.net")
    assert err(ei)[:2] == ("FromEmailAddressNotVerified", 400)
    with pytest.raises(ClientError) as ei:
        ses.update_custom_verification_email_template(TemplateName=unique("missing"), TemplateSubject="x")
    assert err(ei)[:2] == ("CustomVerificationEmailTemplateDoesNotExist", 400)
    # D-52: no display names in FromEmailAddress; bad redirect URL → parameter errors.
    with pytest.raises(ClientError) as ei:
        ses.create_custom_verification_email_template(**v1_args(unique("cv"), domain, FromEmailAddress=f"Me <verify@{domain}>"))
    assert err(ei)[:2] == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        ses.create_custom_verification_email_template(**v1_args(unique("cv"), domain, SuccessRedirectionURL="not a url"))
    assert err(ei)[:2] == ("InvalidParameterValue", 400)


def test_v2_round_trip_full_update_and_errors(sandbox):
    """sesv2.json operations; Q-102 (v2 update replaces all fields); v2 error shapes."""
    acct, domain = sandbox
    v2 = acct.sesv2
    name = unique("cv")
    v2.create_custom_verification_email_template(**v1_args(name, domain), Tags=[{"Key": "team", "Value": "a"}])
    got = v2.get_custom_verification_email_template(TemplateName=name)
    got.pop("ResponseMetadata")
    assert got == {
        "TemplateName": name,
        "FromEmailAddress": f"verify@{domain}",
        "TemplateSubject": "Please verify",
        "TemplateContent": CONTENT,
        "Tags": [{"Key": "team", "Value": "a"}],
        "SuccessRedirectionURL": "https://example.com/ok",
        "FailureRedirectionURL": "https://example.com/ko",
    }
    # Taggable by ARN (IAM resource type custom-verification-email-template).
    arn = acct.arn(f"custom-verification-email-template/{name}")
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "prod"}]
    v2.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert v2.get_custom_verification_email_template(TemplateName=name)["Tags"] == [{"Key": "team", "Value": "a"}]
    v2.update_custom_verification_email_template(**v1_args(name, domain, TemplateSubject="S2", TemplateContent="<p>two</p>", FailureRedirectionURL="https://example.com/ko2"))
    got = v2.get_custom_verification_email_template(TemplateName=name)
    assert (got["TemplateSubject"], got["TemplateContent"], got["FailureRedirectionURL"]) == ("S2", "<p>two</p>", "https://example.com/ko2")
    with pytest.raises(ClientError) as ei:
        v2.create_custom_verification_email_template(**v1_args(name, domain))
    assert err(ei)[:2] == ("AlreadyExistsException", 400)
    with pytest.raises(ClientError) as ei:
        v2.create_custom_verification_email_template(**v1_args(unique("cv"), domain, TemplateContent="<script>x</script>"))
    assert err(ei)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as ei:
        v2.create_custom_verification_email_template(**v1_args(unique("cv"), domain, FromEmailAddress="x@unverified.example.net"))
    assert err(ei)[:2] == ("BadRequestException", 400)
    missing = unique("missing")
    for call in (
        lambda: v2.get_custom_verification_email_template(TemplateName=missing),
        lambda: v2.update_custom_verification_email_template(**v1_args(missing, domain)),
        lambda: v2.delete_custom_verification_email_template(TemplateName=missing),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert err(ei)[:2] == ("NotFoundException", 404)
    v2.delete_custom_verification_email_template(TemplateName=name)
    with pytest.raises(ClientError) as ei:
        v2.get_custom_verification_email_template(TemplateName=name)
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_pagination_and_the_50_template_limit(server):
    """D-54 paging (v1 MaxResults, v2 PageSize, 1–50); Q-103: 50 per (account, region), the 51st
    is LimitExceeded (v1) / LimitExceededException (v2); another region has its own 50."""
    acct = create_account(server)
    domain = verified_domain(server, acct)
    names = sorted(f"cv{i:02d}" for i in range(50))
    for n in names:
        acct.sesv2.create_custom_verification_email_template(**v1_args(n, domain))
    with pytest.raises(ClientError) as ei:
        acct.ses.create_custom_verification_email_template(**v1_args("cv50", domain))
    assert err(ei)[:2] == ("LimitExceeded", 400)
    with pytest.raises(ClientError) as ei:
        acct.sesv2.create_custom_verification_email_template(**v1_args("cv50", domain))
    assert err(ei)[:2] == ("LimitExceededException", 400)

    seen, token = [], None
    while True:
        kw = {"MaxResults": 7}
        if token:
            kw["NextToken"] = token
        page = acct.ses.list_custom_verification_email_templates(**kw)
        seen += [t["TemplateName"] for t in page["CustomVerificationEmailTemplates"]]
        assert len(page["CustomVerificationEmailTemplates"]) <= 7
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names
    seen, token = [], None
    while True:
        kw = {"PageSize": 20}
        if token:
            kw["NextToken"] = token
        page = acct.sesv2.list_custom_verification_email_templates(**kw)
        seen += [t["TemplateName"] for t in page["CustomVerificationEmailTemplates"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names
    assert len(acct.sesv2.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]) == 50
    with pytest.raises(ClientError) as ei:
        acct.ses.list_custom_verification_email_templates(MaxResults=51)
    assert err(ei)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as ei:
        acct.sesv2.list_custom_verification_email_templates(PageSize=51)
    assert err(ei)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as ei:
        acct.ses.list_custom_verification_email_templates(NextToken="forged.token")
    assert err(ei)[0] == "InvalidParameterValue"


def test_send_in_sandbox_is_refused(sandbox):
    """D-51 / Q-103: v1 ProductionAccessNotGranted, v2 MessageRejected; no identity created."""
    acct, domain = sandbox
    name = unique("cv")
    acct.ses.create_custom_verification_email_template(**v1_args(name, domain))
    to = address("cust")
    with pytest.raises(ClientError) as ei:
        acct.ses.send_custom_verification_email(EmailAddress=to, TemplateName=name)
    assert err(ei)[:2] == ("ProductionAccessNotGranted", 400)
    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_custom_verification_email(EmailAddress=to, TemplateName=name)
    assert err(ei)[:2] == ("MessageRejected", 400)
    assert acct.ses.get_identity_verification_attributes(Identities=[to])["VerificationAttributes"] == {}


def test_send_creates_the_identity_pending(prod):
    """D-55, Q-101: MessageId returned; the address identity exists PENDING at send time."""
    acct, domain = prod
    name = unique("cv")
    acct.sesv2.create_custom_verification_email_template(**v1_args(name, domain))
    to = address("cust")
    r = acct.ses.send_custom_verification_email(EmailAddress=to, TemplateName=name)
    assert MESSAGE_ID.match(r["MessageId"]), r["MessageId"]
    attrs = acct.ses.get_identity_verification_attributes(Identities=[to])["VerificationAttributes"]
    assert attrs == {to: {"VerificationStatus": "Pending"}}
    got = acct.sesv2.get_email_identity(EmailIdentity=to)
    assert (got["IdentityType"], got["VerificationStatus"], got["VerifiedForSendingStatus"]) == ("EMAIL_ADDRESS", "PENDING", False)
    to2 = address("cust")
    r = acct.sesv2.send_custom_verification_email(EmailAddress=to2, TemplateName=name)
    assert MESSAGE_ID.match(r["MessageId"])
    assert acct.sesv2.get_email_identity(EmailIdentity=to2)["VerificationStatus"] == "PENDING"
    # Sending again to an existing identity is fine (a resend).
    acct.sesv2.send_custom_verification_email(EmailAddress=to2, TemplateName=name)


def test_send_errors(server, prod):
    """ses.json / sesv2.json error shapes of SendCustomVerificationEmail."""
    acct, domain = prod
    name = unique("cv")
    acct.ses.create_custom_verification_email_template(**v1_args(name, domain))
    to = address("cust")
    with pytest.raises(ClientError) as ei:
        acct.ses.send_custom_verification_email(EmailAddress=to, TemplateName=unique("missing"))
    assert err(ei)[:2] == ("CustomVerificationEmailTemplateDoesNotExist", 400)
    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_custom_verification_email(EmailAddress=to, TemplateName=unique("missing"))
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        acct.ses.send_custom_verification_email(EmailAddress=to, TemplateName=name, ConfigurationSetName=unique("nocs"))
    assert err(ei)[:2] == ("ConfigurationSetDoesNotExist", 400)
    with pytest.raises(ClientError) as ei:
        acct.sesv2.send_custom_verification_email(EmailAddress=to, TemplateName=name, ConfigurationSetName=unique("nocs"))
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        acct.ses.send_custom_verification_email(EmailAddress="not-an-address", TemplateName=name)
    assert err(ei)[:2] == ("InvalidParameterValue", 400)
    # The template's From is no longer verified (its domain was deleted).
    acct.ses.delete_identity(Identity=domain)
    try:
        with pytest.raises(ClientError) as ei:
            acct.ses.send_custom_verification_email(EmailAddress=to, TemplateName=name)
        assert err(ei)[:2] == ("FromEmailAddressNotVerified", 400)
        with pytest.raises(ClientError) as ei:
            acct.sesv2.send_custom_verification_email(EmailAddress=to, TemplateName=name)
        assert err(ei)[:2] == ("MessageRejected", 400)
    finally:
        acct.ses.verify_domain_identity(Domain=domain)
        server.cli("identity", "verify", "--force", "--account", acct.account_id, domain)


def test_verify_email_identity_sends_and_stays_pending(v1, v2):
    """D-31, Q-83: VerifyEmailIdentity (and its alias VerifyEmailAddress) and v2
    CreateEmailIdentity leave the address PENDING until its link is clicked; calling v1 again is
    a resend, not an error."""
    a = address("ve")
    v1.verify_email_identity(EmailAddress=a)
    v1.verify_email_identity(EmailAddress=a)
    v1.verify_email_address(EmailAddress=a)
    assert v1.get_identity_verification_attributes(Identities=[a])["VerificationAttributes"] == {a: {"VerificationStatus": "Pending"}}
    b = address("ve")
    v2.create_email_identity(EmailIdentity=b)
    assert v2.get_email_identity(EmailIdentity=b)["VerificationStatus"] == "PENDING"


def test_aws_cli_cli_input_json(server, aws, tmp_path):
    """D-52/D-54 CLI forms: `aws sesv2 create-custom-verification-email-template
    --cli-input-json file://customverificationemail.json`, `list-…`, `get-…`; the CLI v1 exit
    status 255 and the error code for a duplicate."""
    domain = verified_domain(server, aws.account)
    name = unique("cli")
    spec = tmp_path / "customverificationemail.json"
    spec.write_text(json.dumps(v1_args(name, domain)))
    assert aws.json("sesv2", "create-custom-verification-email-template", "--cli-input-json", f"file://{spec}") == {}
    listed = aws.json("sesv2", "list-custom-verification-email-templates")["CustomVerificationEmailTemplates"]
    assert name in [t["TemplateName"] for t in listed]
    got = aws.json("ses", "get-custom-verification-email-template", "--template-name", name)
    assert got["TemplateContent"] == CONTENT
    p = aws("sesv2", "create-custom-verification-email-template", "--cli-input-json", f"file://{spec}", check=False)
    assert p.returncode == 255 and "(AlreadyExistsException)" in p.stderr, p.stderr
    aws("sesv2", "delete-custom-verification-email-template", "--template-name", name)
