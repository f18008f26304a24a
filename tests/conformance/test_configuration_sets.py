"""Configuration sets (sesv2 Create/Get/List/DeleteConfigurationSet, PutConfigurationSetDeliveryOptions,
*ConfigurationSetEventDestination*; ses DescribeConfigurationSet) — Q-8 spellings per surface,
Q-10 v1 codes."""

import os

import pytest
from botocore.exceptions import ClientError

from conftest import err, unique


TOPIC = "arn:aws:sns:us-east-1:123456789012:events"


def test_crud_v2(v2):
    """CreateConfigurationSet (DeliveryOptions TlsPolicy REQUIRE, Tags) → GetConfigurationSet shape;
    ListConfigurationSets; DeleteConfigurationSet → Get 404."""
    name = unique("cs")
    r = v2.create_configuration_set(
        ConfigurationSetName=name,
        DeliveryOptions={"TlsPolicy": "REQUIRE"},
        Tags=[{"Key": "team", "Value": "mail"}],
    )
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    g = v2.get_configuration_set(ConfigurationSetName=name)
    assert g["ConfigurationSetName"] == name
    assert g["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert g["Tags"] == [{"Key": "team", "Value": "mail"}]
    assert name in v2.list_configuration_sets()["ConfigurationSets"]
    v2.delete_configuration_set(ConfigurationSetName=name)
    with pytest.raises(ClientError) as ei:
        v2.get_configuration_set(ConfigurationSetName=name)
    assert err(ei)[:2] == ("NotFoundException", 404)
    assert name not in v2.list_configuration_sets()["ConfigurationSets"]


def test_duplicate_and_missing(v2):
    """Duplicate create → AlreadyExistsException 400; delete unknown → NotFoundException 404."""
    name = unique("cs")
    v2.create_configuration_set(ConfigurationSetName=name)
    with pytest.raises(ClientError) as ei:
        v2.create_configuration_set(ConfigurationSetName=name)
    assert err(ei)[:2] == ("AlreadyExistsException", 400)
    with pytest.raises(ClientError) as ei:
        v2.delete_configuration_set(ConfigurationSetName=unique("nope"))
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_delivery_options_and_enum(v2):
    """PutConfigurationSetDeliveryOptions TlsPolicy; v1 spelling `Require` on v2 → BadRequestException (Q-8)."""
    name = unique("cs")
    v2.create_configuration_set(ConfigurationSetName=name)
    v2.put_configuration_set_delivery_options(ConfigurationSetName=name, TlsPolicy="REQUIRE")
    assert v2.get_configuration_set(ConfigurationSetName=name)["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    v2.put_configuration_set_delivery_options(ConfigurationSetName=name, TlsPolicy="OPTIONAL")
    assert v2.get_configuration_set(ConfigurationSetName=name)["DeliveryOptions"]["TlsPolicy"] == "OPTIONAL"
    with pytest.raises(ClientError) as ei:
        v2.put_configuration_set_delivery_options(ConfigurationSetName=name, TlsPolicy="Require")
    assert err(ei)[:2] == ("BadRequestException", 400)


def test_event_destination_crud(v2):
    """Create/Get/Update/DeleteConfigurationSetEventDestination (SnsDestination, MatchingEventTypes)."""
    name = unique("cs")
    v2.create_configuration_set(ConfigurationSetName=name)
    v2.create_configuration_set_event_destination(
        ConfigurationSetName=name,
        EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"], "SnsDestination": {"TopicArn": TOPIC}},
    )
    eds = v2.get_configuration_set_event_destinations(ConfigurationSetName=name)["EventDestinations"]
    assert len(eds) == 1
    ed = eds[0]
    assert ed["Name"] == "to-sns"
    assert ed["Enabled"] is True
    assert sorted(ed["MatchingEventTypes"]) == ["BOUNCE", "SEND"]
    assert ed["SnsDestination"] == {"TopicArn": TOPIC}
    with pytest.raises(ClientError) as ei:
        v2.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestinationName="to-sns",
            EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": TOPIC}},
        )
    assert err(ei)[:2] == ("AlreadyExistsException", 400)
    v2.update_configuration_set_event_destination(
        ConfigurationSetName=name,
        EventDestinationName="to-sns",
        EventDestination={"Enabled": False, "MatchingEventTypes": ["DELIVERY"], "SnsDestination": {"TopicArn": TOPIC}},
    )
    ed = v2.get_configuration_set_event_destinations(ConfigurationSetName=name)["EventDestinations"][0]
    assert ed["Enabled"] is False and ed["MatchingEventTypes"] == ["DELIVERY"]
    v2.delete_configuration_set_event_destination(ConfigurationSetName=name, EventDestinationName="to-sns")
    assert v2.get_configuration_set_event_destinations(ConfigurationSetName=name)["EventDestinations"] == []
    with pytest.raises(ClientError) as ei:
        v2.delete_configuration_set_event_destination(ConfigurationSetName=name, EventDestinationName="to-sns")
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_v1_describe(v1, v2):
    """ses DescribeConfigurationSet: v1 spellings (TlsPolicy Require, lower-case event types,
    SNSDestination.TopicARN); unknown → ConfigurationSetDoesNotExist (Q-10)."""
    name = unique("cs")
    v2.create_configuration_set(ConfigurationSetName=name, DeliveryOptions={"TlsPolicy": "REQUIRE"})
    v2.create_configuration_set_event_destination(
        ConfigurationSetName=name,
        EventDestinationName="d1",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"], "SnsDestination": {"TopicArn": TOPIC}},
    )
    r = v1.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations", "deliveryOptions"]
    )
    assert r["ConfigurationSet"]["Name"] == name
    assert r["DeliveryOptions"]["TlsPolicy"] == "Require"
    ed = r["EventDestinations"][0]
    assert ed["Name"] == "d1"
    assert ed["Enabled"] is True
    assert sorted(ed["MatchingEventTypes"]) == ["bounce", "send"]
    assert ed["SNSDestination"]["TopicARN"] == TOPIC
    assert name in [c["Name"] for c in v1.list_configuration_sets()["ConfigurationSets"]]
    with pytest.raises(ClientError) as ei:
        v1.describe_configuration_set(ConfigurationSetName=unique("nope"))
    assert err(ei)[:2] == ("ConfigurationSetDoesNotExist", 400)


def test_v1_create_and_v2_get(v1, v2):
    """ses CreateConfigurationSet is visible to sesv2 GetConfigurationSet; v1 duplicate →
    ConfigurationSetAlreadyExists (Q-10)."""
    name = unique("cs")
    v1.create_configuration_set(ConfigurationSet={"Name": name})
    assert v2.get_configuration_set(ConfigurationSetName=name)["ConfigurationSetName"] == name
    with pytest.raises(ClientError) as ei:
        v1.create_configuration_set(ConfigurationSet={"Name": name})
    assert err(ei)[:2] == ("ConfigurationSetAlreadyExists", 400)
    v1.delete_configuration_set(ConfigurationSetName=name)
    with pytest.raises(ClientError) as ei:
        v2.get_configuration_set(ConfigurationSetName=name)
    assert err(ei)[:2] == ("NotFoundException", 404)
