"""Dedicated IPs, pools and warm-up (sesv2 CreateDedicatedIpPool, GetDedicatedIpPool,
ListDedicatedIpPools, DeleteDedicatedIpPool, PutDedicatedIpPoolScalingAttributes, GetDedicatedIp,
GetDedicatedIps, PutDedicatedIpInPool, PutDedicatedIpWarmupAttributes,
PutAccountDedicatedIpWarmupAttributes; GetAccount.DedicatedIpAutoWarmupEnabled) — spec F-24,
F-25, F-29..F-33, F-54..F-64, KA-1..KA-5, E-129; DECISIONS Q-130..Q-133.

The harness starts the server with SESAME_OUTBOUND_IPS=127.0.1.7,127.0.1.8,127.0.1.9 (conftest):
those are the instance's dedicated IPs, which every account sees. Pools and warm-up state are
per account, so tests that depend on an account's first contact with its IPs use a fresh
account."""

import pytest
from botocore.exceptions import ClientError

from conftest import AwsCli, create_account, err, unique

IPS = ["127.0.1.7", "127.0.1.8", "127.0.1.9"]
DEFAULT = "ses-default-dedicated-pool"
SHARED = "ses-shared-pool"


@pytest.fixture
def fresh(server):
    """A new account: its IPs are registered by the first dedicated-IP call it makes."""
    return create_account(server)


def pool():
    return unique("pool")


def in_pool(v2, name):
    return [d["Ip"] for d in v2.get_dedicated_ips(PoolName=name)["DedicatedIps"]]


def test_outbound_ips_are_the_dedicated_ips(fresh):
    """GetDedicatedIps → DedicatedIps[DedicatedIp{Ip, WarmupStatus, WarmupPercentage, PoolName}]:
    the configured addresses, auto warm-up on by default → IN_PROGRESS at plan day 1 (3 %), all
    in ses-default-dedicated-pool; GetDedicatedIp returns the same shape."""
    v2 = fresh.sesv2
    assert v2.get_account()["DedicatedIpAutoWarmupEnabled"] is True
    r = v2.get_dedicated_ips()
    assert "NextToken" not in r
    assert r["DedicatedIps"] == [
        {"Ip": ip, "WarmupStatus": "IN_PROGRESS", "WarmupPercentage": 3, "PoolName": DEFAULT}
        for ip in IPS
    ]
    g = v2.get_dedicated_ip(Ip="127.0.1.8")
    assert g["DedicatedIp"] == {
        "Ip": "127.0.1.8",
        "WarmupStatus": "IN_PROGRESS",
        "WarmupPercentage": 3,
        "PoolName": DEFAULT,
    }


def test_unknown_and_malformed_ip(v2):
    """GetDedicatedIp / PutDedicatedIpWarmupAttributes: an address that is not one of the
    instance's → NotFoundException 404; not an IPv4 address → BadRequestException 400."""
    for call in (
        lambda ip: v2.get_dedicated_ip(Ip=ip),
        lambda ip: v2.put_dedicated_ip_warmup_attributes(Ip=ip, WarmupPercentage=5),
        lambda ip: v2.put_dedicated_ip_in_pool(Ip=ip, DestinationPoolName=DEFAULT),
    ):
        with pytest.raises(ClientError) as ei:
            call("127.0.1.10")
        assert err(ei)[:2] == ("NotFoundException", 404)
        with pytest.raises(ClientError) as ei:
            call("not-an-ip")
        assert err(ei)[:2] == ("BadRequestException", 400)


def test_auto_warmup_disabled_before_first_use(fresh):
    """F-24 / KA-5: PutAccountDedicatedIpWarmupAttributes(AutoWarmupEnabled=false) before the
    account's IPs are registered → GetAccount shows false and every IP is DONE/100;
    re-enabling does not restart IPs already registered."""
    v2 = fresh.sesv2
    r = v2.put_account_dedicated_ip_warmup_attributes(AutoWarmupEnabled=False)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert v2.get_account()["DedicatedIpAutoWarmupEnabled"] is False
    ips = v2.get_dedicated_ips()["DedicatedIps"]
    assert [(d["WarmupStatus"], d["WarmupPercentage"]) for d in ips] == [("DONE", 100)] * 3
    v2.put_account_dedicated_ip_warmup_attributes(AutoWarmupEnabled=True)
    assert v2.get_account()["DedicatedIpAutoWarmupEnabled"] is True
    assert v2.get_dedicated_ip(Ip="127.0.1.7")["DedicatedIp"]["WarmupStatus"] == "DONE"


def test_warmup_controls(fresh):
    """F-25 / KA-4: PutDedicatedIpWarmupAttributes 42 → IN_PROGRESS/42; 100 (mark complete) →
    DONE/100; 0 (reset) → IN_PROGRESS/0; outside 0..100 → BadRequestException."""
    v2 = fresh.sesv2
    for pct, status in ((42, "IN_PROGRESS"), (100, "DONE"), (0, "IN_PROGRESS")):
        v2.put_dedicated_ip_warmup_attributes(Ip="127.0.1.9", WarmupPercentage=pct)
        d = v2.get_dedicated_ip(Ip="127.0.1.9")["DedicatedIp"]
        assert (d["WarmupStatus"], d["WarmupPercentage"]) == (status, pct)
    for bad in (101, -1):
        with pytest.raises(ClientError) as ei:
            v2.put_dedicated_ip_warmup_attributes(Ip="127.0.1.9", WarmupPercentage=bad)
        assert err(ei)[:2] == ("BadRequestException", 400)
    # The other IPs are untouched.
    assert v2.get_dedicated_ip(Ip="127.0.1.7")["DedicatedIp"]["WarmupPercentage"] == 3


def test_pool_crud(v2):
    """CreateDedicatedIpPool (empty 200) → GetDedicatedIpPool DedicatedIpPool{PoolName,
    ScalingMode=STANDARD} → ListDedicatedIpPools lists it with the reserved pools →
    DeleteDedicatedIpPool → Get/Delete NotFoundException 404."""
    name = pool()
    r = v2.create_dedicated_ip_pool(PoolName=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(r) == {"ResponseMetadata"}
    assert v2.get_dedicated_ip_pool(PoolName=name)["DedicatedIpPool"] == {
        "PoolName": name,
        "ScalingMode": "STANDARD",
    }
    listed = v2.list_dedicated_ip_pools()["DedicatedIpPools"]
    assert {name, DEFAULT, SHARED} <= set(listed)
    assert listed == sorted(listed)
    v2.delete_dedicated_ip_pool(PoolName=name)
    for call in (v2.get_dedicated_ip_pool, v2.delete_dedicated_ip_pool):
        with pytest.raises(ClientError) as ei:
            call(PoolName=name)
        assert err(ei)[:2] == ("NotFoundException", 404)
    assert name not in v2.list_dedicated_ip_pools()["DedicatedIpPools"]


def test_pool_name_rules(v2):
    """F-29 / F-31 / F-43 / Q-131: a duplicate (of either scaling mode) → AlreadyExistsException
    400; names outside [a-z0-9_-]{1,64} or reserved → BadRequestException 400; the reserved
    pools cannot be described or deleted ([obs] message)."""
    name = pool()
    v2.create_dedicated_ip_pool(PoolName=name, ScalingMode="STANDARD")
    for mode in ("STANDARD", "MANAGED"):
        with pytest.raises(ClientError) as ei:
            v2.create_dedicated_ip_pool(PoolName=name, ScalingMode=mode)
        assert err(ei)[:2] == ("AlreadyExistsException", 400)
    for bad in ("Upper", "a.b", "x" * 65, DEFAULT, SHARED):
        with pytest.raises(ClientError) as ei:
            v2.create_dedicated_ip_pool(PoolName=bad)
        assert err(ei)[:2] == ("BadRequestException", 400), bad
    for reserved in (DEFAULT, SHARED):
        for call in (v2.get_dedicated_ip_pool, v2.delete_dedicated_ip_pool):
            with pytest.raises(ClientError) as ei:
                call(PoolName=reserved)
            assert err(ei) == (
                "BadRequestException",
                400,
                "Pool name describes either a shared or default dedicated ip pool",
            )


def test_pool_limit(fresh):
    """F-30 / KA-1: 50 pools per account and region (both modes) → the 51st is
    LimitExceededException 400."""
    v2 = fresh.sesv2
    for i in range(50):
        v2.create_dedicated_ip_pool(PoolName=f"p{i:02d}", ScalingMode="MANAGED" if i % 2 else "STANDARD")
    with pytest.raises(ClientError) as ei:
        v2.create_dedicated_ip_pool(PoolName="one-too-many")
    assert err(ei)[:2] == ("LimitExceededException", 400)
    v2.delete_dedicated_ip_pool(PoolName="p00")
    v2.create_dedicated_ip_pool(PoolName="one-too-many")


def test_put_ip_in_pool_moves_exclusively(fresh):
    """F-29 / F-60 / KA-2: PutDedicatedIpInPool moves the IP out of its previous pool;
    ses-default-dedicated-pool takes it out of every pool; ses-shared-pool → BadRequestException;
    an unknown pool → NotFoundException (also as GetDedicatedIps' PoolName)."""
    v2 = fresh.sesv2
    a, b = pool(), pool()
    v2.create_dedicated_ip_pool(PoolName=a)
    v2.create_dedicated_ip_pool(PoolName=b)
    r = v2.put_dedicated_ip_in_pool(Ip="127.0.1.7", DestinationPoolName=a)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert in_pool(v2, a) == ["127.0.1.7"]
    v2.put_dedicated_ip_in_pool(Ip="127.0.1.7", DestinationPoolName=b)
    assert in_pool(v2, a) == []
    assert in_pool(v2, b) == ["127.0.1.7"]
    assert v2.get_dedicated_ip(Ip="127.0.1.7")["DedicatedIp"]["PoolName"] == b
    assert in_pool(v2, DEFAULT) == ["127.0.1.8", "127.0.1.9"]
    assert in_pool(v2, SHARED) == []
    v2.put_dedicated_ip_in_pool(Ip="127.0.1.7", DestinationPoolName=DEFAULT)
    assert v2.get_dedicated_ip(Ip="127.0.1.7")["DedicatedIp"]["PoolName"] == DEFAULT
    with pytest.raises(ClientError) as ei:
        v2.put_dedicated_ip_in_pool(Ip="127.0.1.7", DestinationPoolName=SHARED)
    assert err(ei)[:2] == ("BadRequestException", 400)
    missing = pool()
    with pytest.raises(ClientError) as ei:
        v2.put_dedicated_ip_in_pool(Ip="127.0.1.7", DestinationPoolName=missing)
    assert err(ei)[:2] == ("NotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        v2.get_dedicated_ips(PoolName=missing)
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_delete_refused_while_pool_holds_ips_or_is_used(fresh):
    """F-32: a STANDARD pool with IPs → BadRequestException; a pool named by a configuration
    set's SendingPoolName → BadRequestException naming the set; once both are gone it deletes."""
    v2 = fresh.sesv2
    name, cs = pool(), unique("cs")
    v2.create_dedicated_ip_pool(PoolName=name)
    v2.put_dedicated_ip_in_pool(Ip="127.0.1.8", DestinationPoolName=name)
    with pytest.raises(ClientError) as ei:
        v2.delete_dedicated_ip_pool(PoolName=name)
    assert err(ei)[:2] == ("BadRequestException", 400)
    v2.put_dedicated_ip_in_pool(Ip="127.0.1.8", DestinationPoolName=DEFAULT)
    v2.create_configuration_set(ConfigurationSetName=cs, DeliveryOptions={"SendingPoolName": name})
    with pytest.raises(ClientError) as ei:
        v2.delete_dedicated_ip_pool(PoolName=name)
    code, status, msg = err(ei)
    assert (code, status) == ("BadRequestException", 400)
    assert cs in msg
    v2.delete_configuration_set(ConfigurationSetName=cs)
    v2.delete_dedicated_ip_pool(PoolName=name)


def test_sending_pool_name_must_exist(v2):
    """E-129: CreateConfigurationSet / PutConfigurationSetDeliveryOptions with an unknown
    SendingPoolName → NotFoundException 404; an existing pool or a reserved one (E-98) is
    accepted and read back in DeliveryOptions."""
    cs, name = unique("cs"), pool()
    with pytest.raises(ClientError) as ei:
        v2.create_configuration_set(ConfigurationSetName=cs, DeliveryOptions={"SendingPoolName": pool()})
    assert err(ei)[:2] == ("NotFoundException", 404)
    v2.create_dedicated_ip_pool(PoolName=name)
    v2.create_configuration_set(ConfigurationSetName=cs, DeliveryOptions={"SendingPoolName": name})
    assert v2.get_configuration_set(ConfigurationSetName=cs)["DeliveryOptions"]["SendingPoolName"] == name
    for reserved in (SHARED, DEFAULT):
        v2.put_configuration_set_delivery_options(ConfigurationSetName=cs, SendingPoolName=reserved)
        got = v2.get_configuration_set(ConfigurationSetName=cs)["DeliveryOptions"]["SendingPoolName"]
        assert got == reserved
    with pytest.raises(ClientError) as ei:
        v2.put_configuration_set_delivery_options(ConfigurationSetName=cs, SendingPoolName=pool())
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_convert_to_managed(fresh):
    """F-43 / F-44 / F-62 / F-64 / KA-3: STANDARD → MANAGED keeps the pool's IPs and
    configuration sets; its IPs show NOT_APPLICABLE / -1, are not listed by GetDedicatedIps and
    cannot be moved or warmed by hand; MANAGED → STANDARD → BadRequestException. Deleting the
    managed pool releases its IPs to ses-default-dedicated-pool (F-48)."""
    v2 = fresh.sesv2
    name, cs = pool(), unique("cs")
    v2.create_dedicated_ip_pool(PoolName=name)
    v2.put_dedicated_ip_in_pool(Ip="127.0.1.9", DestinationPoolName=name)
    v2.create_configuration_set(ConfigurationSetName=cs, DeliveryOptions={"SendingPoolName": name})
    r = v2.put_dedicated_ip_pool_scaling_attributes(PoolName=name, ScalingMode="MANAGED")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert v2.get_dedicated_ip_pool(PoolName=name)["DedicatedIpPool"]["ScalingMode"] == "MANAGED"
    assert v2.get_dedicated_ip(Ip="127.0.1.9")["DedicatedIp"] == {
        "Ip": "127.0.1.9",
        "WarmupStatus": "NOT_APPLICABLE",
        "WarmupPercentage": -1,
        "PoolName": name,
    }
    assert [d["Ip"] for d in v2.get_dedicated_ips()["DedicatedIps"]] == ["127.0.1.7", "127.0.1.8"]
    assert in_pool(v2, name) == []
    assert v2.get_configuration_set(ConfigurationSetName=cs)["DeliveryOptions"]["SendingPoolName"] == name
    for call in (
        lambda: v2.put_dedicated_ip_pool_scaling_attributes(PoolName=name, ScalingMode="STANDARD"),
        lambda: v2.put_dedicated_ip_in_pool(Ip="127.0.1.9", DestinationPoolName=DEFAULT),
        lambda: v2.put_dedicated_ip_warmup_attributes(Ip="127.0.1.9", WarmupPercentage=50),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert err(ei)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as ei:
        v2.put_dedicated_ip_pool_scaling_attributes(PoolName=pool(), ScalingMode="MANAGED")
    assert err(ei)[:2] == ("NotFoundException", 404)
    v2.delete_configuration_set(ConfigurationSetName=cs)
    v2.delete_dedicated_ip_pool(PoolName=name)
    assert v2.get_dedicated_ip(Ip="127.0.1.9")["DedicatedIp"]["PoolName"] == DEFAULT


def test_create_managed_pool(v2):
    """CreateDedicatedIpPool ScalingMode=MANAGED → GetDedicatedIpPool ScalingMode MANAGED;
    an unknown ScalingMode → BadRequestException."""
    name = pool()
    v2.create_dedicated_ip_pool(PoolName=name, ScalingMode="MANAGED")
    assert v2.get_dedicated_ip_pool(PoolName=name)["DedicatedIpPool"]["ScalingMode"] == "MANAGED"
    v2.delete_dedicated_ip_pool(PoolName=name)
    with pytest.raises(ClientError) as ei:
        v2.put_dedicated_ip_pool_scaling_attributes(PoolName=name, ScalingMode="AUTOMATIC")
    assert err(ei)[:2] == ("BadRequestException", 400)


def test_pagination(fresh):
    """GetDedicatedIps / ListDedicatedIpPools PageSize + NextToken cover everything once, in
    order; a forged token → BadRequestException (Q-13)."""
    v2 = fresh.sesv2
    first = v2.get_dedicated_ips(PageSize=2)
    assert [d["Ip"] for d in first["DedicatedIps"]] == IPS[:2]
    second = v2.get_dedicated_ips(PageSize=2, NextToken=first["NextToken"])
    assert [d["Ip"] for d in second["DedicatedIps"]] == IPS[2:]
    assert "NextToken" not in second
    names = sorted(pool() for _ in range(3))
    for n in names:
        v2.create_dedicated_ip_pool(PoolName=n)
    seen, token = [], None
    while True:
        kw = {"PageSize": 2}
        if token:
            kw["NextToken"] = token
        page = v2.list_dedicated_ip_pools(**kw)
        assert len(page["DedicatedIpPools"]) <= 2
        seen += page["DedicatedIpPools"]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == sorted(names + [DEFAULT, SHARED])
    for call in (v2.get_dedicated_ips, v2.list_dedicated_ip_pools):
        with pytest.raises(ClientError) as ei:
            call(NextToken=first["NextToken"] + "x")
        assert err(ei)[:2] == ("BadRequestException", 400)
    # A GetDedicatedIps token is bound to its PoolName filter.
    with pytest.raises(ClientError) as ei:
        v2.get_dedicated_ips(PoolName=DEFAULT, NextToken=first["NextToken"])
    assert err(ei)[:2] == ("BadRequestException", 400)


def test_pools_and_warmup_are_per_account(v2, v2b, account_b):
    """Q-27: B does not see A's pool and cannot describe it; B's warm-up state of the shared
    instance IPs is its own."""
    name = pool()
    v2.create_dedicated_ip_pool(PoolName=name)
    assert name not in v2b.list_dedicated_ip_pools()["DedicatedIpPools"]
    with pytest.raises(ClientError) as ei:
        v2b.get_dedicated_ip_pool(PoolName=name)
    assert err(ei)[:2] == ("NotFoundException", 404)
    v2.put_dedicated_ip_warmup_attributes(Ip="127.0.1.7", WarmupPercentage=77)
    assert v2b.get_dedicated_ip(Ip="127.0.1.7")["DedicatedIp"]["WarmupPercentage"] != 77


def test_pool_tags(v2, account_a):
    """Q-25: pools are taggable (CreateDedicatedIpPool Tags; TagResource / ListTagsForResource /
    UntagResource on arn:aws:ses:<region>:<account>:dedicated-ip-pool/<name>)."""
    name = pool()
    v2.create_dedicated_ip_pool(PoolName=name, Tags=[{"Key": "team", "Value": "mail"}])
    arn = account_a.arn(f"dedicated-ip-pool/{name}")
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "mail"}]
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "use", "Value": "marketing"}])
    v2.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "use", "Value": "marketing"}]


def test_cli(fresh):
    """The aws CLI: sesv2 create-dedicated-ip-pool / put-dedicated-ip-in-pool /
    put-dedicated-ip-warmup-attributes / get-dedicated-ips --pool-name / list-dedicated-ip-pools
    / put-account-dedicated-ip-warmup-attributes --no-auto-warmup-enabled."""
    aws = AwsCli(fresh)
    name = pool()
    aws("sesv2", "create-dedicated-ip-pool", "--pool-name", name, "--scaling-mode", "STANDARD")
    aws("sesv2", "put-dedicated-ip-in-pool", "--ip", "127.0.1.8", "--destination-pool-name", name)
    aws("sesv2", "put-dedicated-ip-warmup-attributes", "--ip", "127.0.1.8", "--warmup-percentage", "50")
    got = aws.json("sesv2", "get-dedicated-ips", "--pool-name", name)
    assert got == {
        "DedicatedIps": [
            {"Ip": "127.0.1.8", "WarmupStatus": "IN_PROGRESS", "WarmupPercentage": 50, "PoolName": name}
        ]
    }
    assert name in aws.json("sesv2", "list-dedicated-ip-pools")["DedicatedIpPools"]
    aws("sesv2", "put-account-dedicated-ip-warmup-attributes", "--no-auto-warmup-enabled")
    assert aws.json("sesv2", "get-account")["DedicatedIpAutoWarmupEnabled"] is False
    p = aws("sesv2", "get-dedicated-ip-pool", "--pool-name", pool(), check=False)
    assert p.returncode != 0 and "NotFoundException" in p.stderr
