"""The unmodified aws CLI (v1, from pip) against the endpoint: JSON output shapes and exit codes."""

import json

from conftest import AwsCli, address, create_account, unique


def test_cli_sesv2_identity_roundtrip(aws):
    """aws sesv2 create-email-identity / get-email-identity / list-email-identities."""
    name = f"{unique()}.cli.test"
    r = aws.json("sesv2", "create-email-identity", "--email-identity", name)
    assert r["IdentityType"] == "DOMAIN"
    assert r["VerifiedForSendingStatus"] is False
    assert len(r["DkimAttributes"]["Tokens"]) == 3
    g = aws.json("sesv2", "get-email-identity", "--email-identity", name)
    assert g["DkimAttributes"]["Tokens"] == r["DkimAttributes"]["Tokens"]
    assert g["VerificationStatus"] == "PENDING"
    listed = aws.json("sesv2", "list-email-identities")["EmailIdentities"]
    assert name in [i["IdentityName"] for i in listed]


def test_cli_address_identity(aws):
    """aws sesv2 get-email-identity with an address (URI label with '@')."""
    addr = f"{unique('c')}@{unique()}.cli.test"
    aws.json("sesv2", "create-email-identity", "--email-identity", addr)
    assert aws.json("sesv2", "get-email-identity", "--email-identity", addr)["IdentityType"] == "EMAIL_ADDRESS"


def test_cli_ses_v1(aws):
    """aws ses verify-domain-dkim (3 tokens, same as boto3 sees) / list-identities --identity-type Domain / get-send-quota."""
    d = f"{unique()}.cli.test"
    t1 = aws.json("ses", "verify-domain-dkim", "--domain", d)["DkimTokens"]
    assert len(t1) == 3
    assert aws.account.ses.verify_domain_dkim(Domain=d)["DkimTokens"] == t1
    ids = aws.json("ses", "list-identities", "--identity-type", "Domain")["Identities"]
    assert d in ids
    q = aws.json("ses", "get-send-quota")
    assert set(q) >= {"Max24HourSend", "MaxSendRate", "SentLast24Hours"}


def test_cli_page_size_and_next_token(server):
    """botocore has no paginator for ListEmailIdentities, so `--page-size` is the model's PageSize:
    one page plus NextToken; `--next-token` continues until every identity was seen once."""
    acct = create_account(server)  # a fresh account: exactly these identities
    aws = AwsCli(acct)
    names = [address("pg") for _ in range(3)]
    v2 = acct.sesv2
    for n in names:
        v2.create_email_identity(EmailIdentity=n)
    got, token = [], None
    while True:
        args = ["sesv2", "list-email-identities", "--page-size", "2"]
        if token:
            args += ["--next-token", token]
        r = aws.json(*args)
        assert len(r["EmailIdentities"]) <= 2
        got += [i["IdentityName"] for i in r["EmailIdentities"]]
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(got) == sorted(names)


def test_cli_not_found(aws):
    """aws sesv2 get-email-identity on a missing identity: non-zero exit, NotFoundException in stderr."""
    p = aws("sesv2", "get-email-identity", "--email-identity", "missing.example", check=False)
    assert p.returncode != 0
    assert "NotFoundException" in p.stderr
    assert p.stdout.strip() == ""
