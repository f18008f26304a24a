"""The unmodified aws CLI (v1, from pip) against the endpoint: JSON output shapes and exit codes."""

import json

from conftest import unique


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
    """aws ses verify-domain-dkim (3 tokens, stable) / list-identities --identity-type Domain."""
    d = f"{unique()}.cli.test"
    t1 = aws.json("ses", "verify-domain-dkim", "--domain", d)["DkimTokens"]
    assert len(t1) == 3
    assert aws.json("ses", "verify-domain-dkim", "--domain", d)["DkimTokens"] == t1
    ids = aws.json("ses", "list-identities", "--identity-type", "Domain")["Identities"]
    assert d in ids
    q = aws.json("ses", "get-send-quota")
    assert set(q) >= {"Max24HourSend", "MaxSendRate", "SentLast24Hours"}


def test_cli_paginates(aws):
    """The CLI's automatic pagination (--page-size) follows NextToken to the end."""
    names = [f"{unique('pg')}.cli.test" for _ in range(3)]
    for n in names:
        aws.json("sesv2", "create-email-identity", "--email-identity", n)
    listed = aws.json("sesv2", "list-email-identities", "--page-size", "1")["EmailIdentities"]
    got = [i["IdentityName"] for i in listed]
    assert set(names) <= set(got)
    assert len(got) == len(set(got))


def test_cli_not_found(aws):
    """aws sesv2 get-email-identity on a missing identity: non-zero exit, NotFoundException in stderr."""
    p = aws("sesv2", "get-email-identity", "--email-identity", "missing.example", check=False)
    assert p.returncode != 0
    assert "NotFoundException" in p.stderr
    assert p.stdout.strip() == ""
