"""Durability: state survives a graceful restart and a `kill -9` right after a write returned."""

import pytest
from botocore.exceptions import ClientError

from conftest import address, unique


def test_restart_keeps_identities(restartable, account_a):
    """Identities, DKIM tokens and tags are still there after SIGTERM + restart on the same data dir."""
    v2 = account_a.sesv2
    d = f"{unique()}.persist.test"
    a = f"{unique('p')}@persist.test"
    toks = v2.create_email_identity(EmailIdentity=d, Tags=[{"Key": "k", "Value": "v"}])["DkimAttributes"]["Tokens"]
    v2.create_email_identity(EmailIdentity=a)
    restartable.restart()
    v2 = account_a.sesv2  # new port
    g = v2.get_email_identity(EmailIdentity=d)
    assert g["DkimAttributes"]["Tokens"] == toks
    assert g["Tags"] == [{"Key": "k", "Value": "v"}]
    assert v2.get_email_identity(EmailIdentity=a)["IdentityType"] == "EMAIL_ADDRESS"
    # credentials (stored encrypted under the instance key) still verify
    assert account_a.ses.get_send_quota()["Max24HourSend"] > 0


def test_kill9_right_after_create(restartable, account_a):
    """A create that returned 200 is durable: `kill -9` immediately, restart → present."""
    v2 = account_a.sesv2
    names = [address("k") for _ in range(3)]
    for n in names:
        v2.create_email_identity(EmailIdentity=n)
    dom = f"{unique()}.kill9.test"
    account_a.ses.verify_domain_identity(Domain=dom)
    restartable.restart(hard=True)
    v2 = account_a.sesv2
    for n in names:
        assert v2.get_email_identity(EmailIdentity=n)["IdentityType"] == "EMAIL_ADDRESS"
    assert dom in account_a.ses.list_identities(IdentityType="Domain")["Identities"]


def test_kill9_after_delete(restartable, account_a):
    """A delete that returned 200 stays deleted after `kill -9` + restart."""
    v2 = account_a.sesv2
    n = address("k")
    v2.create_email_identity(EmailIdentity=n)
    v2.delete_email_identity(EmailIdentity=n)
    restartable.restart(hard=True)
    with pytest.raises(ClientError) as ei:
        account_a.sesv2.get_email_identity(EmailIdentity=n)
    assert ei.value.response["Error"]["Code"] == "NotFoundException"
