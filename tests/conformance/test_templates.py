"""Email templates (sesv2 Create/Get/List/Update/DeleteEmailTemplate, TestRenderEmailTemplate;
ses CreateTemplate/GetTemplate/ListTemplates/DeleteTemplate/TestRenderTemplate; Q-10 v1 codes,
Q-13 page sizes)."""

import json
import os

import pytest
from botocore.exceptions import ClientError

from conftest import err, unique



def test_v2_crud(v2):
    """CreateEmailTemplate → GetEmailTemplate (TemplateName, TemplateContent); ListEmailTemplates
    TemplatesMetadata; UpdateEmailTemplate; DeleteEmailTemplate → 404."""
    name = unique("tpl")
    content = {"Subject": "Hello {{name}}", "Text": "Hi {{name}}", "Html": "<p>Hi {{name}}</p>"}
    v2.create_email_template(TemplateName=name, TemplateContent=content)
    g = v2.get_email_template(TemplateName=name)
    assert g["TemplateName"] == name
    assert g["TemplateContent"] == content
    meta = {m["TemplateName"]: m for m in v2.list_email_templates(PageSize=100)["TemplatesMetadata"]}
    assert name in meta and "CreatedTimestamp" in meta[name]
    v2.update_email_template(TemplateName=name, TemplateContent={"Subject": "Bye {{name}}", "Text": "t"})
    assert v2.get_email_template(TemplateName=name)["TemplateContent"]["Subject"] == "Bye {{name}}"
    v2.delete_email_template(TemplateName=name)
    with pytest.raises(ClientError) as ei:
        v2.get_email_template(TemplateName=name)
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_v2_duplicate(v2):
    """CreateEmailTemplate twice → AlreadyExistsException (400)."""
    name = unique("tpl")
    v2.create_email_template(TemplateName=name, TemplateContent={"Subject": "s", "Text": "t"})
    with pytest.raises(ClientError) as ei:
        v2.create_email_template(TemplateName=name, TemplateContent={"Subject": "s", "Text": "t"})
    assert err(ei)[:2] == ("AlreadyExistsException", 400)


def test_v2_render(v2):
    """TestRenderEmailTemplate → RenderedTemplate (MIME) containing the rendered subject and body."""
    name = unique("tpl")
    v2.create_email_template(
        TemplateName=name, TemplateContent={"Subject": "Hello {{name}}", "Text": "Dear {{name}}, welcome."}
    )
    r = v2.test_render_email_template(TemplateName=name, TemplateData=json.dumps({"name": "Ana"}))
    out = r["RenderedTemplate"]
    assert "Subject: Hello Ana" in out
    assert "Dear Ana, welcome." in out
    with pytest.raises(ClientError) as ei:
        v2.test_render_email_template(TemplateName=unique("nope"), TemplateData="{}")
    assert err(ei)[:2] == ("NotFoundException", 404)


def test_v1_crud_and_render(v1, v2):
    """ses CreateTemplate / GetTemplate / ListTemplates / TestRenderTemplate / DeleteTemplate;
    unknown → TemplateDoesNotExist (Q-10); v1 and v2 share templates."""
    name = unique("tpl")
    v1.create_template(Template={"TemplateName": name, "SubjectPart": "Order {{id}}", "TextPart": "Order {{id}} shipped"})
    t = v1.get_template(TemplateName=name)["Template"]
    assert t == {"TemplateName": name, "SubjectPart": "Order {{id}}", "TextPart": "Order {{id}} shipped"}
    assert name in [m["Name"] for m in v1.list_templates(MaxItems=100)["TemplatesMetadata"]]
    assert v2.get_email_template(TemplateName=name)["TemplateContent"]["Subject"] == "Order {{id}}"
    out = v1.test_render_template(TemplateName=name, TemplateData=json.dumps({"id": "42"}))["RenderedTemplate"]
    assert "Subject: Order 42" in out
    assert "Order 42 shipped" in out
    with pytest.raises(ClientError) as ei:
        v1.create_template(Template={"TemplateName": name, "SubjectPart": "s", "TextPart": "t"})
    assert err(ei)[:2] == ("AlreadyExists", 400)
    v1.delete_template(TemplateName=name)
    with pytest.raises(ClientError) as ei:
        v1.get_template(TemplateName=name)
    assert err(ei)[:2] == ("TemplateDoesNotExist", 400)


def test_v1_render_missing_variable(v1):
    """TestRenderTemplate with a variable missing from TemplateData → MissingRenderingAttribute (400)."""
    name = unique("tpl")
    v1.create_template(Template={"TemplateName": name, "SubjectPart": "Hi {{name}}", "TextPart": "x"})
    with pytest.raises(ClientError) as ei:
        v1.test_render_template(TemplateName=name, TemplateData="{}")
    assert err(ei)[:2] == ("MissingRenderingAttribute", 400)
