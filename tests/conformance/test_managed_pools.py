"""Managed dedicated IP pools beyond the API shapes of test_dedicated_ips.py (spec F-37..F-48,
KA-3, KA-16; DECISIONS Q-133; docs/dedicated-ips.md): converting a STANDARD pool keeps its most
warmed IP and returns the redundant ones to the inventory (F-44), deleting a managed pool returns
its IPs (F-48), and `sesame pool show` reports the pool (F-46).

Automatic allocation needs real delivery volume: crates/sesame/tests/managed_pool_delivery.rs
covers it over SMTP. The harness's outbound addresses are 127.0.1.7-9 (conftest)."""

import json

from conftest import create_account, unique
import pytest

DEFAULT = "ses-default-dedicated-pool"


@pytest.fixture
def fresh(server):
    """A new account: its IPs are registered by the first dedicated-IP call it makes."""
    return create_account(server)


def show(acct, name, *extra):
    return acct.server.cli("pool", "show", name, "--account", acct.account_id, *extra).stdout


def test_conversion_removes_redundant_ips_and_delete_returns_the_rest(fresh):
    """F-44 items 1-2 / KA-3: STANDARD → MANAGED keeps the most warmed IP (NOT_APPLICABLE / -1)
    and returns the redundant ones to ses-default-dedicated-pool, registered anew (auto warm-up
    on: IN_PROGRESS at plan day 1, 3 %). F-48 / KA-16: deleting the managed pool returns its IP
    to the inventory as unassigned."""
    v2 = fresh.sesv2
    name = unique("pool")
    v2.create_dedicated_ip_pool(PoolName=name)
    for ip in ("127.0.1.7", "127.0.1.8"):
        v2.put_dedicated_ip_in_pool(Ip=ip, DestinationPoolName=name)
    v2.put_dedicated_ip_warmup_attributes(Ip="127.0.1.7", WarmupPercentage=20)
    v2.put_dedicated_ip_warmup_attributes(Ip="127.0.1.8", WarmupPercentage=40)
    v2.put_dedicated_ip_pool_scaling_attributes(PoolName=name, ScalingMode="MANAGED")
    assert v2.get_dedicated_ip(Ip="127.0.1.8")["DedicatedIp"] == {
        "Ip": "127.0.1.8",
        "WarmupStatus": "NOT_APPLICABLE",
        "WarmupPercentage": -1,
        "PoolName": name,
    }
    assert v2.get_dedicated_ip(Ip="127.0.1.7")["DedicatedIp"] == {
        "Ip": "127.0.1.7",
        "WarmupStatus": "IN_PROGRESS",
        "WarmupPercentage": 3,
        "PoolName": DEFAULT,
    }
    got = v2.get_dedicated_ips(PoolName=DEFAULT)["DedicatedIps"]
    assert [d["Ip"] for d in got] == ["127.0.1.7", "127.0.1.9"]

    report = json.loads(show(fresh, name, "--json"))
    assert report["status"] == "Sending via dedicated IPs"
    assert [i["ip"] for i in report["ips"]] == ["127.0.1.8"]
    text = show(fresh, name)
    assert f"pool {name} (MANAGED), account {fresh.account_id}, us-east-1" in text
    assert "sending status: Sending via dedicated IPs" in text
    assert "dedicated IP: 127.0.1.8" in text

    v2.delete_dedicated_ip_pool(PoolName=name)
    assert v2.get_dedicated_ip(Ip="127.0.1.8")["DedicatedIp"] == {
        "Ip": "127.0.1.8",
        "WarmupStatus": "IN_PROGRESS",
        "WarmupPercentage": 3,
        "PoolName": DEFAULT,
    }
    assert len(v2.get_dedicated_ips(PoolName=DEFAULT)["DedicatedIps"]) == 3


def test_new_managed_pool_has_insufficient_volume(fresh):
    """F-37 / F-41 / F-46: a new managed pool holds no IP until its volume calls for one; the
    operator's view says "Insufficient volume". A STANDARD pool's view lists its IPs."""
    v2 = fresh.sesv2
    name = unique("pool")
    v2.create_dedicated_ip_pool(PoolName=name, ScalingMode="MANAGED")
    assert json.loads(show(fresh, name, "--json")) == {
        "account_id": fresh.account_id,
        "region": "us-east-1",
        "pool": name,
        "status": "Insufficient volume",
        "ips": [],
        "dedicated_last_7_days": 0,
        "shared_last_7_days": 0,
        "dedicated_percentage_last_7_days": None,
        "isps": [],
        "changes": [],
    }
    assert v2.get_dedicated_ips(PoolName=name)["DedicatedIps"] == []
    assert "sending status: Insufficient volume" in show(fresh, name)
    std = unique("pool")
    v2.create_dedicated_ip_pool(PoolName=std)
    v2.put_dedicated_ip_in_pool(Ip="127.0.1.9", DestinationPoolName=std)
    assert json.loads(show(fresh, std, "--json")) == {
        "pool": std,
        "scaling_mode": "STANDARD",
        "ips": [{"ip": "127.0.1.9", "warmup_status": "IN_PROGRESS", "warmup_percentage": 3}],
    }
    missing = fresh.server.cli("pool", "show", unique("pool"), "--account", fresh.account_id, check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    v2.delete_dedicated_ip_pool(PoolName=name)
