"""SES v1 identities (model ses: VerifyEmailIdentity, VerifyDomainIdentity, VerifyDomainDkim,
ListIdentities, GetIdentity*Attributes, SetIdentity*, DeleteIdentity) — Query protocol (Q-3)."""

import re

import pytest
from botocore.exceptions import ClientError

from conftest import err, unique

TOKEN_RE = re.compile(r"^[a-z2-7]{32}$")


def test_verify_email_identity(v1):
    """VerifyEmailIdentity → empty VerifyEmailIdentityResult; identity listed as Pending."""
    addr = f"{unique('a')}@{unique()}.example.com"
    r = v1.verify_email_identity(EmailAddress=addr)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["ResponseMetadata"]["RequestId"]
    a = v1.get_identity_verification_attributes(Identities=[addr])["VerificationAttributes"]
    assert a[addr]["VerificationStatus"] == "Pending"
    assert "VerificationToken" not in a[addr]


def test_verify_domain_identity_token_stable(v1):
    """VerifyDomainIdentity → VerificationToken; the same token on repeat;
    GetIdentityVerificationAttributes shows Pending + the token."""
    d = f"{unique()}.example.com"
    t1 = v1.verify_domain_identity(Domain=d)["VerificationToken"]
    assert t1
    t2 = v1.verify_domain_identity(Domain=d)["VerificationToken"]
    assert t1 == t2
    a = v1.get_identity_verification_attributes(Identities=[d])["VerificationAttributes"][d]
    assert a == {"VerificationStatus": "Pending", "VerificationToken": t1}


def test_verify_domain_dkim_stable(v1):
    """VerifyDomainDkim → 3 DkimTokens ([a-z2-7]{32}); identical on repeat;
    GetIdentityDkimAttributes DkimEnabled true, DkimVerificationStatus Pending."""
    d = f"{unique()}.example.com"
    t1 = v1.verify_domain_dkim(Domain=d)["DkimTokens"]
    assert len(t1) == 3 and all(TOKEN_RE.match(t) for t in t1)
    t2 = v1.verify_domain_dkim(Domain=d)["DkimTokens"]
    assert t1 == t2
    a = v1.get_identity_dkim_attributes(Identities=[d])["DkimAttributes"][d]
    assert a["DkimEnabled"] is True
    assert a["DkimVerificationStatus"] == "Pending"
    assert a["DkimTokens"] == t1


def test_verify_domain_identity_then_dkim_matches_v2(v1, v2):
    """v1 VerifyDomainDkim tokens == v2 GetEmailIdentity DkimAttributes.Tokens (one identity store)."""
    d = f"{unique()}.example.com"
    v1.verify_domain_identity(Domain=d)
    toks = v1.verify_domain_dkim(Domain=d)["DkimTokens"]
    g = v2.get_email_identity(EmailIdentity=d)
    assert g["DkimAttributes"]["Tokens"] == toks


def test_list_identities_filter_and_paging(v1):
    """ListIdentities IdentityType filter (EmailAddress / Domain) and MaxItems/NextToken (Q-13)."""
    dom = [f"{unique('l')}.list.test" for _ in range(3)]
    adr = [f"{unique('m')}@list.test" for _ in range(3)]
    for d in dom:
        v1.verify_domain_identity(Domain=d)
    for a in adr:
        v1.verify_email_identity(EmailAddress=a)
    domains = v1.list_identities(IdentityType="Domain")["Identities"]
    emails = v1.list_identities(IdentityType="EmailAddress")["Identities"]
    assert set(dom) <= set(domains) and not set(adr) & set(domains)
    assert set(adr) <= set(emails) and not set(dom) & set(emails)
    assert all("@" in e for e in emails) and all("@" not in d for d in domains)

    full = v1.list_identities()["Identities"]
    seen, token = [], None
    while True:
        kw = {"MaxItems": 2}
        if token:
            kw["NextToken"] = token
        r = v1.list_identities(**kw)
        assert len(r["Identities"]) <= 2
        seen += r["Identities"]
        token = r.get("NextToken")
        if not token:
            break
    assert seen == full and len(seen) == len(set(seen))

    # A token from one filter is not valid for another → InvalidParameterValue.
    tok = v1.list_identities(IdentityType="Domain", MaxItems=1)["NextToken"]
    with pytest.raises(ClientError) as ei:
        v1.list_identities(IdentityType="EmailAddress", MaxItems=1, NextToken=tok)
    assert err(ei)[:2] == ("InvalidParameterValue", 400)


def test_list_identities_bad_type(v1):
    """Q-8: IdentityType outside the v1 enum (v2 spelling DOMAIN) → InvalidParameterValue."""
    with pytest.raises(ClientError) as ei:
        v1.list_identities(IdentityType="DOMAIN")
    assert err(ei)[:2] == ("InvalidParameterValue", 400)


def test_mail_from_domain(v1):
    """SetIdentityMailFromDomain + GetIdentityMailFromDomainAttributes (BehaviorOnMXFailure v1 spelling)."""
    d = f"{unique()}.example.com"
    v1.verify_domain_identity(Domain=d)
    v1.set_identity_mail_from_domain(Identity=d, MailFromDomain=f"mf.{d}", BehaviorOnMXFailure="RejectMessage")
    a = v1.get_identity_mail_from_domain_attributes(Identities=[d])["MailFromDomainAttributes"][d]
    assert a["MailFromDomain"] == f"mf.{d}"
    assert a["BehaviorOnMXFailure"] == "RejectMessage"
    assert a["MailFromDomainStatus"] == "Pending"


def test_notification_topic_and_forwarding(v1):
    """SetIdentityNotificationTopic + GetIdentityNotificationAttributes; disabling forwarding
    without bounce+complaint topics → InvalidParameterValue; with topics it is accepted."""
    d = f"{unique()}.example.com"
    v1.verify_domain_identity(Domain=d)
    na = v1.get_identity_notification_attributes(Identities=[d])["NotificationAttributes"][d]
    assert na["ForwardingEnabled"] is True
    with pytest.raises(ClientError) as ei:
        v1.set_identity_feedback_forwarding_enabled(Identity=d, ForwardingEnabled=False)
    assert err(ei)[:2] == ("InvalidParameterValue", 400)

    bounce = f"arn:aws:sns:us-east-1:{'1' * 12}:bounces"
    complaint = f"arn:aws:sns:us-east-1:{'1' * 12}:complaints"
    v1.set_identity_notification_topic(Identity=d, NotificationType="Bounce", SnsTopic=bounce)
    v1.set_identity_notification_topic(Identity=d, NotificationType="Complaint", SnsTopic=complaint)
    na = v1.get_identity_notification_attributes(Identities=[d])["NotificationAttributes"][d]
    assert na["BounceTopic"] == bounce
    assert na["ComplaintTopic"] == complaint
    assert na.get("DeliveryTopic", "") == ""  # model-required member: absent or empty
    v1.set_identity_feedback_forwarding_enabled(Identity=d, ForwardingEnabled=False)
    na = v1.get_identity_notification_attributes(Identities=[d])["NotificationAttributes"][d]
    assert na["ForwardingEnabled"] is False
    v1.set_identity_headers_in_notifications_enabled(Identity=d, NotificationType="Bounce", Enabled=True)
    na = v1.get_identity_notification_attributes(Identities=[d])["NotificationAttributes"][d]
    assert na["HeadersInBounceNotificationsEnabled"] is True


def test_delete_identity(v1, v2):
    """DeleteIdentity removes the identity for v1 and v2; deleting an unknown one succeeds (AWS)."""
    d = f"{unique()}.example.com"
    v1.verify_domain_identity(Domain=d)
    assert d in v1.list_identities()["Identities"]
    v1.delete_identity(Identity=d)
    assert d not in v1.list_identities()["Identities"]
    with pytest.raises(ClientError) as ei:
        v2.get_email_identity(EmailIdentity=d)
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_v1_and_v2_share_identities(v1, v2):
    """v2-created identities appear in v1 ListIdentities and vice versa."""
    a = f"{unique('a')}@{unique()}.v2made.test"
    b = f"{unique()}.v1made.test"
    v2.create_email_identity(EmailIdentity=a)
    v1.verify_domain_identity(Domain=b)
    assert {a, b} <= set(v1.list_identities()["Identities"])
    assert {a, b} <= {i["IdentityName"] for i in v2.list_email_identities()["EmailIdentities"]}
    assert v1.get_identity_verification_attributes(Identities=[a])["VerificationAttributes"][a]["VerificationStatus"] == "Pending"


def test_get_attributes_unknown_identity_omitted(v1):
    """Get*Attributes with an unknown identity: omitted from the map (no error)."""
    d = f"{unique()}.unknown.test"
    assert v1.get_identity_verification_attributes(Identities=[d])["VerificationAttributes"] == {}
