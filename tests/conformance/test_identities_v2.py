"""SES v2 email identities (model sesv2: CreateEmailIdentity, GetEmailIdentity,
ListEmailIdentities, DeleteEmailIdentity, PutEmailIdentity*Attributes)."""

import base64
import re
import subprocess

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from conftest import address, err, unique

TOKEN_RE = re.compile(r"^[a-z2-7]{32}$")


def test_create_domain_identity_shape(v2):
    """CreateEmailIdentityResponse: IdentityType DOMAIN, VerifiedForSendingStatus false,
    DkimAttributes (Easy DKIM: 3 base32 tokens, PENDING, AWS_SES, RSA_2048_BIT)."""
    name = f"{unique()}.example.com"
    r = v2.create_email_identity(EmailIdentity=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["IdentityType"] == "DOMAIN"
    assert r["VerifiedForSendingStatus"] is False
    d = r["DkimAttributes"]
    assert d["Status"] == "PENDING"
    assert d["SigningEnabled"] is True
    assert d["SigningAttributesOrigin"] == "AWS_SES"
    assert d["CurrentSigningKeyLength"] == "RSA_2048_BIT"
    assert len(d["Tokens"]) == 3
    assert len(set(d["Tokens"])) == 3
    for t in d["Tokens"]:
        assert TOKEN_RE.match(t), t

    g = v2.get_email_identity(EmailIdentity=name)
    assert g["IdentityType"] == "DOMAIN"
    assert g["VerifiedForSendingStatus"] is False
    assert g["VerificationStatus"] == "PENDING"
    assert g["FeedbackForwardingStatus"] is True
    assert g["DkimAttributes"]["Tokens"] == d["Tokens"]
    assert g["DkimAttributes"]["Status"] == "PENDING"
    assert g["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES"
    # No custom MAIL FROM yet: MailFromAttributes absent (the model's members would all be
    # empty) or carrying only the default behaviour.
    mf = g.get("MailFromAttributes")
    assert mf is None or (not mf.get("MailFromDomain") and mf.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE") == "USE_DEFAULT_VALUE")
    assert g["Tags"] == []


def test_create_and_get_email_address_identity(v2):
    """CreateEmailIdentity for an address (IdentityType EMAIL_ADDRESS); GetEmailIdentity with
    '@' in the URI label (boto3 percent-encodes it)."""
    addr = f"{unique('u')}+tag@{unique()}.example.org"
    r = v2.create_email_identity(EmailIdentity=addr)
    assert r["IdentityType"] == "EMAIL_ADDRESS"
    assert r["VerifiedForSendingStatus"] is False
    g = v2.get_email_identity(EmailIdentity=addr)
    assert g["IdentityType"] == "EMAIL_ADDRESS"
    assert g["VerifiedForSendingStatus"] is False
    assert g["VerificationStatus"] == "PENDING"
    names = [i["IdentityName"] for i in v2.list_email_identities()["EmailIdentities"]]
    assert addr in names


def test_create_with_tags(v2):
    """CreateEmailIdentity Tags are returned by GetEmailIdentity (Q-25)."""
    name = address()
    v2.create_email_identity(EmailIdentity=name, Tags=[{"Key": "team", "Value": "mail"}, {"Key": "empty", "Value": ""}])
    g = v2.get_email_identity(EmailIdentity=name)
    assert sorted(g["Tags"], key=lambda t: t["Key"]) == [{"Key": "empty", "Value": ""}, {"Key": "team", "Value": "mail"}]


def test_list_pagination(v2):
    """ListEmailIdentities PageSize/NextToken (Q-13): every identity once, in the server's
    order, same as an unpaginated listing; IdentityInfo shape."""
    created = [address("p") for _ in range(5)]
    for n in created:
        v2.create_email_identity(EmailIdentity=n)
    full = [i["IdentityName"] for i in v2.list_email_identities()["EmailIdentities"]]
    seen, token, pages = [], None, 0
    while True:
        kw = {"PageSize": 2}
        if token:
            kw["NextToken"] = token
        r = v2.list_email_identities(**kw)
        pages += 1
        assert len(r["EmailIdentities"]) <= 2
        for info in r["EmailIdentities"]:
            assert set(info) >= {"IdentityType", "IdentityName", "SendingEnabled", "VerificationStatus"}
        seen += [i["IdentityName"] for i in r["EmailIdentities"]]
        token = r.get("NextToken")
        if not token:
            break
        assert pages < 1000
    assert seen == full
    assert len(seen) == len(set(seen))
    for n in created:
        assert seen.count(n) == 1
    assert pages >= 3
    info = {i["IdentityName"]: i for i in v2.list_email_identities()["EmailIdentities"]}[created[0]]
    assert info["IdentityType"] == "EMAIL_ADDRESS"
    assert info["SendingEnabled"] is False
    assert info["VerificationStatus"] == "PENDING"


def test_tampered_next_token(v2):
    """Q-13: a modified NextToken → BadRequestException (400)."""
    for _ in range(3):
        v2.create_email_identity(EmailIdentity=address("tt"))
    tok = v2.list_email_identities(PageSize=1)["NextToken"]
    bad = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
    for t in (bad, "not-a-token", tok + "x"):
        with pytest.raises(ClientError) as ei:
            v2.list_email_identities(PageSize=1, NextToken=t)
        code, status, _ = err(ei)
        assert (code, status) == ("BadRequestException", 400)


def test_duplicate_create(v2):
    """CreateEmailIdentity on an existing identity → AlreadyExistsException (400)."""
    name = address()
    v2.create_email_identity(EmailIdentity=name)
    with pytest.raises(ClientError) as ei:
        v2.create_email_identity(EmailIdentity=name)
    code, status, msg = err(ei)
    assert (code, status) == ("AlreadyExistsException", 400)
    assert name in msg


def test_get_missing(v2):
    """GetEmailIdentity unknown → NotFoundException (404)."""
    with pytest.raises(ClientError) as ei:
        v2.get_email_identity(EmailIdentity=f"{unique()}.missing.example")
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_delete_then_get(v2):
    """DeleteEmailIdentity → 200 empty; then GetEmailIdentity → 404; delete again → 404."""
    name = address()
    v2.create_email_identity(EmailIdentity=name)
    r = v2.delete_email_identity(EmailIdentity=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as ei:
        v2.get_email_identity(EmailIdentity=name)
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        v2.delete_email_identity(EmailIdentity=name)
    assert err(ei)[:2] == ("NotFoundException", 404)


def _rsa_private_key_b64() -> str:
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True, text=True).stdout
    if "BEGIN RSA PRIVATE KEY" not in pem and "BEGIN PRIVATE KEY" not in pem:
        raise AssertionError(pem)
    body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    base64.b64decode(body)  # well-formed
    return body


def test_byodkim_create(v2):
    """DkimSigningAttributes (BYODKIM): Tokens == [selector], SigningAttributesOrigin EXTERNAL."""
    name = f"{unique()}.byodkim.test"
    r = v2.create_email_identity(
        EmailIdentity=name,
        DkimSigningAttributes={"DomainSigningSelector": "sel1", "DomainSigningPrivateKey": _rsa_private_key_b64()},
    )
    d = r["DkimAttributes"]
    assert d["Tokens"] == ["sel1"]
    assert d["SigningAttributesOrigin"] == "EXTERNAL"
    assert d["SigningEnabled"] is True
    g = v2.get_email_identity(EmailIdentity=name)["DkimAttributes"]
    assert g["Tokens"] == ["sel1"]
    assert g["SigningAttributesOrigin"] == "EXTERNAL"
    assert "SigningHostedZone" not in g


def test_byodkim_bad_key(v2):
    """DkimSigningAttributes with a private key that is not base64 RSA → BadRequestException."""
    with pytest.raises(ClientError) as ei:
        v2.create_email_identity(
            EmailIdentity=f"{unique()}.byodkim.test",
            DkimSigningAttributes={"DomainSigningSelector": "sel1", "DomainSigningPrivateKey": "bm90IGEga2V5"},
        )
    assert err(ei)[:2] == ("BadRequestException", 400)


def test_invalid_enum(v2):
    """Q-8: NextSigningKeyLength outside the model enum → BadRequestException (400)."""
    with pytest.raises(ClientError) as ei:
        v2.create_email_identity(
            EmailIdentity=f"{unique()}.example.com",
            DkimSigningAttributes={"NextSigningKeyLength": "RSA_4096_BIT"},
        )
    assert err(ei)[:2] == ("BadRequestException", 400)


def test_mail_from_attributes(v2, v1):
    """PutEmailIdentityMailFromAttributes → GetEmailIdentity.MailFromAttributes
    (MailFromDomainStatus PENDING for a new subdomain; BehaviorOnMxFailure echoed)."""
    name = f"{unique()}.example.com"
    v1.verify_domain_identity(Domain=name)  # a domain identity without a DKIM key (fast)
    r = v2.put_email_identity_mail_from_attributes(
        EmailIdentity=name, MailFromDomain=f"bounce.{name}", BehaviorOnMxFailure="REJECT_MESSAGE"
    )
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    m = v2.get_email_identity(EmailIdentity=name)["MailFromAttributes"]
    assert m["MailFromDomain"] == f"bounce.{name}"
    assert m["BehaviorOnMxFailure"] == "REJECT_MESSAGE"
    assert m["MailFromDomainStatus"] == "PENDING"
    # Clearing it.
    v2.put_email_identity_mail_from_attributes(EmailIdentity=name)
    m = v2.get_email_identity(EmailIdentity=name).get("MailFromAttributes", {})
    assert not m.get("MailFromDomain")
    with pytest.raises(ClientError) as ei:
        v2.put_email_identity_mail_from_attributes(EmailIdentity=f"{unique()}.missing.example", MailFromDomain="x.y")
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_feedback_attributes(v2):
    """PutEmailIdentityFeedbackAttributes EmailForwardingEnabled → GetEmailIdentity.FeedbackForwardingStatus."""
    name = address()
    v2.create_email_identity(EmailIdentity=name)
    v2.put_email_identity_feedback_attributes(EmailIdentity=name, EmailForwardingEnabled=False)
    assert v2.get_email_identity(EmailIdentity=name)["FeedbackForwardingStatus"] is False
    v2.put_email_identity_feedback_attributes(EmailIdentity=name, EmailForwardingEnabled=True)
    assert v2.get_email_identity(EmailIdentity=name)["FeedbackForwardingStatus"] is True


def test_dkim_attributes_toggle(v2):
    """PutEmailIdentityDkimAttributes SigningEnabled → DkimAttributes.SigningEnabled."""
    name = f"{unique()}.example.com"
    v2.create_email_identity(EmailIdentity=name)
    v2.put_email_identity_dkim_attributes(EmailIdentity=name, SigningEnabled=False)
    assert v2.get_email_identity(EmailIdentity=name)["DkimAttributes"]["SigningEnabled"] is False
    v2.put_email_identity_dkim_attributes(EmailIdentity=name, SigningEnabled=True)
    assert v2.get_email_identity(EmailIdentity=name)["DkimAttributes"]["SigningEnabled"] is True


def test_invalid_identity_name(v2):
    """Q-20: a malformed identity → BadRequestException (400)."""
    with pytest.raises(ClientError) as ei:
        v2.create_email_identity(EmailIdentity="not an identity")
    assert err(ei)[:2] == ("BadRequestException", 400)


def test_page_size_out_of_range(v2):
    """Q-13: v2 identities PageSize 0–1000; 1001 → BadRequestException."""
    with pytest.raises(ClientError) as ei:
        v2.list_email_identities(PageSize=1001)
    assert err(ei)[:2] == ("BadRequestException", 400)
