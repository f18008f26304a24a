"""Account-level suppression list (sesv2 Put/Get/List/DeleteSuppressedDestination; Q-13:
ListSuppressedDestinations uses InvalidNextTokenException)."""

import os

import pytest
from botocore.exceptions import ClientError

from conftest import err, unique



def test_put_get_list_delete(v2prod):
    """PutSuppressedDestination → GetSuppressedDestination.SuppressedDestination
    {EmailAddress, Reason, LastUpdateTime}; listed with Reasons filter; DeleteSuppressedDestination → 404."""
    a = f"{unique('s')}@supp.test"
    b = f"{unique('s')}@supp.test"
    v2prod.put_suppressed_destination(EmailAddress=a, Reason="BOUNCE")
    v2prod.put_suppressed_destination(EmailAddress=b, Reason="COMPLAINT")
    d = v2prod.get_suppressed_destination(EmailAddress=a)["SuppressedDestination"]
    assert d["EmailAddress"] == a
    assert d["Reason"] == "BOUNCE"
    assert "LastUpdateTime" in d
    bounces = [s["EmailAddress"] for s in v2prod.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]]
    assert a in bounces and b not in bounces
    summ = {s["EmailAddress"]: s for s in v2prod.list_suppressed_destinations()["SuppressedDestinationSummaries"]}
    assert summ[b]["Reason"] == "COMPLAINT" and "LastUpdateTime" in summ[b]
    v2prod.delete_suppressed_destination(EmailAddress=a)
    with pytest.raises(ClientError) as ei:
        v2prod.get_suppressed_destination(EmailAddress=a)
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        v2prod.delete_suppressed_destination(EmailAddress=a)
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_put_overwrites_reason(v2prod):
    """PutSuppressedDestination on an existing address replaces the reason."""
    a = f"{unique('s')}@supp.test"
    v2prod.put_suppressed_destination(EmailAddress=a, Reason="BOUNCE")
    v2prod.put_suppressed_destination(EmailAddress=a, Reason="COMPLAINT")
    assert v2prod.get_suppressed_destination(EmailAddress=a)["SuppressedDestination"]["Reason"] == "COMPLAINT"


def test_bad_reason_and_token(v2prod):
    """Q-8: Reason outside BOUNCE|COMPLAINT → BadRequestException; Q-13: bad NextToken →
    InvalidNextTokenException (400)."""
    with pytest.raises(ClientError) as ei:
        v2prod.put_suppressed_destination(EmailAddress=f"{unique('s')}@supp.test", Reason="Bounce")
    assert err(ei)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as ei:
        v2prod.list_suppressed_destinations(NextToken="garbage-token")
    assert err(ei)[:2] == ("InvalidNextTokenException", 400)


def test_paging(v2prod):
    """ListSuppressedDestinations PageSize/NextToken: every entry once."""
    for _ in range(3):
        v2prod.put_suppressed_destination(EmailAddress=f"{unique('pg')}@supp.test", Reason="BOUNCE")
    full = [s["EmailAddress"] for s in v2prod.list_suppressed_destinations()["SuppressedDestinationSummaries"]]
    seen, tok = [], None
    while True:
        kw = {"PageSize": 1}
        if tok:
            kw["NextToken"] = tok
        r = v2prod.list_suppressed_destinations(**kw)
        seen += [s["EmailAddress"] for s in r["SuppressedDestinationSummaries"]]
        tok = r.get("NextToken")
        if not tok:
            break
    assert sorted(seen) == sorted(full) and len(seen) == len(set(seen))


def test_sandbox_account_cannot_put(v2):
    """F-144/Q-190: PutSuppressedDestination is refused in the sandbox (BadRequestException)."""
    with pytest.raises(ClientError) as ei:
        v2.put_suppressed_destination(EmailAddress=f"{unique('s')}@supp.test", Reason="BOUNCE")
    assert err(ei)[:2] == ("BadRequestException", 400)
