"""Account isolation (Q-27, Q-53: state keyed by account and region) and resource tags
(sesv2 TagResource / UntagResource / ListTagsForResource, Q-25)."""

import pytest
from botocore.exceptions import ClientError

from conftest import address, err, unique


def test_b_cannot_see_a(v2, v2b, v1b, account_b):
    """Account B: A's identity absent from ListEmailIdentities / ListIdentities; Get → NotFoundException."""
    name = address()
    v2.create_email_identity(EmailIdentity=name)
    assert name not in {i["IdentityName"] for i in v2b.list_email_identities()["EmailIdentities"]}
    assert name not in v1b.list_identities()["Identities"]
    with pytest.raises(ClientError) as ei:
        v2b.get_email_identity(EmailIdentity=name)
    assert err(ei)[:2] == ("NotFoundException", 404)
    assert v1b.get_identity_verification_attributes(Identities=[name])["VerificationAttributes"] == {}
    with pytest.raises(ClientError) as ei:
        v2b.delete_email_identity(EmailIdentity=name)
    assert err(ei)[:2] == ("NotFoundException", 404)
    # still there for A
    v2.get_email_identity(EmailIdentity=name)


def test_same_name_independently(v2, v2b):
    """Both accounts may own the same identity name, with independent DKIM tokens and deletion."""
    name = f"{unique()}.shared.test"
    ta = v2.create_email_identity(EmailIdentity=name)["DkimAttributes"]["Tokens"]
    tb = v2b.create_email_identity(EmailIdentity=name)["DkimAttributes"]["Tokens"]
    assert ta != tb
    v2b.delete_email_identity(EmailIdentity=name)
    assert v2.get_email_identity(EmailIdentity=name)["DkimAttributes"]["Tokens"] == ta


def test_fresh_account_b_list_empty(server):
    """A brand-new account lists no identities (v1 and v2)."""
    from conftest import create_account

    c = create_account(server)
    assert c.sesv2.list_email_identities()["EmailIdentities"] == []
    assert c.ses.list_identities()["Identities"] == []


def test_tags_crud(v2, v1, account_a):
    """TagResource / ListTagsForResource / UntagResource on arn:aws:ses:us-east-1:<acct>:identity/<name>."""
    name = f"{unique()}.tags.test"
    v1.verify_domain_identity(Domain=name)
    arn = account_a.arn(f"identity/{name}")
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": ""}])
    tags = sorted(v2.list_tags_for_resource(ResourceArn=arn)["Tags"], key=lambda t: t["Key"])
    assert tags == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": ""}]
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    tags = {t["Key"]: t["Value"] for t in v2.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "dev", "team": ""}
    v2.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": ""}]
    assert v2.get_email_identity(EmailIdentity=name)["Tags"] == [{"Key": "team", "Value": ""}]


def test_tags_address_identity_arn(v2, account_a):
    """Identity ARN for an address identity (`identity/user@domain`)."""
    addr = f"{unique('x')}@{unique()}.tags.test"
    v2.create_email_identity(EmailIdentity=addr)
    arn = account_a.arn(f"identity/{addr}")
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_tags_other_accounts_arn(v2, v2b, account_a):
    """Q-25: another account's ARN (even if it exists there) → NotFoundException; unknown → NotFoundException."""
    name = address()
    v2.create_email_identity(EmailIdentity=name)
    arn = account_a.arn(f"identity/{name}")
    for call in (
        lambda: v2b.list_tags_for_resource(ResourceArn=arn),
        lambda: v2b.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}]),
        lambda: v2b.untag_resource(ResourceArn=arn, TagKeys=["a"]),
        lambda: v2.list_tags_for_resource(ResourceArn=account_a.arn(f"identity/{unique()}.missing.test")),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert err(ei)[:2] == ("NotFoundException", 404)
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


def test_tags_reserved_prefix(v2, account_a):
    """Q-25: keys starting with `aws:` are reserved → BadRequestException."""
    name = address()
    v2.create_email_identity(EmailIdentity=name)
    with pytest.raises(ClientError) as ei:
        v2.tag_resource(ResourceArn=account_a.arn(f"identity/{name}"), Tags=[{"Key": "aws:x", "Value": "v"}])
    assert err(ei)[:2] == ("BadRequestException", 400)
