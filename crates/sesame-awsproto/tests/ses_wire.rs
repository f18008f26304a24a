//! Real SES requests and responses against the embedded models: what `aws sesv2 …` / `aws ses …`
//! and the SDKs put on the wire, and the XML shapes they expect back.

use serde_json::{json, Value};
use sesame_awsproto::generated::{ses, sesv2};
use sesame_awsproto::{model, query, restjson, validate, ApiError, Service};

fn v2(method: &str, path: &str, q: &str, body: &str) -> (String, Value) {
    let d = restjson::decode_request(model(Service::SesV2), method, path, q, body.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (d.operation.to_string(), d.input)
}

fn v1(form: &str) -> Result<(String, Value), ApiError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    query::decode_request(model(Service::SesV1), &params)
        .map(|d| (d.operation.to_string(), d.input))
}

#[test]
fn sesv2_routes() {
    let cases: &[(&str, &str, &str, &str, &str, Value)] = &[
        (
            "POST",
            "/v2/email/identities",
            "",
            r#"{"EmailIdentity":"example.com"}"#,
            "CreateEmailIdentity",
            json!({"EmailIdentity": "example.com"}),
        ),
        (
            "GET",
            "/v2/email/identities/sender%40example.com",
            "",
            "",
            "GetEmailIdentity",
            json!({"EmailIdentity": "sender@example.com"}),
        ),
        (
            "PUT",
            "/v2/email/identities/example.com/dkim",
            "",
            r#"{"SigningEnabled":true}"#,
            "PutEmailIdentityDkimAttributes",
            json!({"EmailIdentity": "example.com", "SigningEnabled": true}),
        ),
        (
            "POST",
            "/v2/email/list-identities",
            "",
            r#"{"PageSize":5}"#,
            "ListEmailIdentities",
            json!({"PageSize": 5}),
        ),
        (
            "GET",
            "/v2/email/identities",
            "NextToken=abc&PageSize=10",
            "",
            "ListEmailIdentities",
            json!({"NextToken": "abc", "PageSize": 10}),
        ),
        (
            "GET",
            "/v2/email/configuration-sets",
            "PageSize=3",
            "",
            "ListConfigurationSets",
            json!({"PageSize": 3}),
        ),
        (
            "GET",
            "/v2/email/contact-lists/news/contacts",
            "PageSize=2",
            "",
            "ListContacts",
            json!({"ContactListName": "news", "PageSize": 2}),
        ),
        (
            "DELETE",
            "/v2/email/identities/example.com",
            "",
            "",
            "DeleteEmailIdentity",
            json!({"EmailIdentity": "example.com"}),
        ),
    ];
    for (method, path, q, body, op, want) in cases {
        let (got_op, got) = v2(method, path, q, body);
        assert_eq!((&got_op.as_str(), &got), (op, want), "{method} {path}");
    }
    let err =
        restjson::decode_request(model(Service::SesV2), "GET", "/v2/nope", "", b"").unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.status),
        ("UnknownOperationException", 404)
    );
}

#[test]
fn sesv2_response_and_error() {
    let m = model(Service::SesV2);
    let out = json!({"IdentityType": "DOMAIN", "VerifiedForSendingStatus": false,
        "DkimAttributes": {"Tokens": ["a", "b"], "LastKeyGenerationTimestamp": 1700000000.5}});
    let resp = restjson::encode_response(m, "CreateEmailIdentity", &out);
    assert_eq!(resp.status, 200);
    let body: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        body["DkimAttributes"]["LastKeyGenerationTimestamp"],
        json!(1700000000.5)
    );
    let err = restjson::encode_error(&ApiError::from_shape(
        Service::SesV2,
        "NotFoundException",
        "gone",
    ));
    assert_eq!(err.status, 404);
    assert!(err
        .headers
        .contains(&("x-amzn-ErrorType".into(), "NotFoundException".into())));
    assert_eq!(
        serde_json::from_slice::<Value>(&err.body).unwrap(),
        json!({"__type": "NotFoundException", "message": "gone"})
    );
}

#[test]
fn sesv1_requests() {
    let cases: &[(&str, &str, Value)] = &[
        ("Action=VerifyEmailIdentity&Version=2010-12-01&EmailAddress=a%40b.c", "VerifyEmailIdentity", json!({"EmailAddress": "a@b.c"})),
        ("Action=ListIdentities&IdentityType=Domain&MaxItems=10", "ListIdentities", json!({"IdentityType": "Domain", "MaxItems": 10})),
        ("Action=GetIdentityVerificationAttributes&Identities.member.1=a.com&Identities.member.2=b.com", "GetIdentityVerificationAttributes", json!({"Identities": ["a.com", "b.com"]})),
        ("Action=SendEmail&Source=a%40b.c&Destination.ToAddresses.member.1=x%40y.z&Message.Subject.Data=Hi&Message.Body.Text.Data=Yo&Tags.member.1.Name=k&Tags.member.1.Value=v",
         "SendEmail",
         json!({"Source": "a@b.c", "Destination": {"ToAddresses": ["x@y.z"]}, "Message": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Yo"}}}, "Tags": [{"Name": "k", "Value": "v"}]})),
    ];
    for (form, op, want) in cases {
        let (got_op, got) = v1(form).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!((&got_op.as_str(), &got), (op, want), "{form}");
    }
    let err = v1("Action=Nope").unwrap_err();
    assert_eq!((err.code.as_str(), err.status), ("InvalidAction", 400));
    assert_eq!(
        v1("Action=ListIdentities&Version=2099-01-01")
            .unwrap_err()
            .code,
        "InvalidAction"
    );
    assert_eq!(
        v1("Version=2010-12-01").unwrap_err().code,
        "MissingParameter"
    );
}

#[test]
fn sesv1_map_of_structures_xml() {
    let m = model(Service::SesV1);
    let out = json!({"VerificationAttributes": {"a.com": {"VerificationStatus": "Pending", "VerificationToken": "tok<&>"}}});
    let xml = query::encode_response(m, "GetIdentityVerificationAttributes", &out, "rid-1");
    assert_eq!(
        xml,
        "<GetIdentityVerificationAttributesResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">\
         <GetIdentityVerificationAttributesResult><VerificationAttributes><entry><key>a.com</key><value>\
         <VerificationStatus>Pending</VerificationStatus><VerificationToken>tok&lt;&amp;&gt;</VerificationToken>\
         </value></entry></VerificationAttributes></GetIdentityVerificationAttributesResult>\
         <ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetIdentityVerificationAttributesResponse>"
    );
    // No output members: still a Result element, since the model has an output shape.
    let xml = query::encode_response(m, "VerifyEmailIdentity", &json!({}), "r");
    assert!(
        xml.contains("<VerifyEmailIdentityResult></VerifyEmailIdentityResult>"),
        "{xml}"
    );
    // No output shape at all: no Result element.
    let xml = query::encode_response(m, "DeleteCustomVerificationEmailTemplate", &json!({}), "r");
    assert!(!xml.contains("Result>"), "{xml}");
    let xml = query::encode_response(
        m,
        "GetSendQuota",
        &json!({"Max24HourSend": 200.0, "SentLast24Hours": 1.5}),
        "r",
    );
    assert!(
        xml.contains("<Max24HourSend>200.0</Max24HourSend>"),
        "{xml}"
    );
}

#[test]
fn sesv1_error_xml() {
    let e = ApiError::from_shape(
        Service::SesV1,
        "ConfigurationSetDoesNotExistException",
        "No set x",
    );
    let xml = query::encode_error(&e, "rid", "http://ses.amazonaws.com/doc/2010-12-01/");
    assert_eq!(
        xml,
        "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error><Type>Sender</Type>\
         <Code>ConfigurationSetDoesNotExist</Code><Message>No set x</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
    );
}

#[test]
fn validation_of_decoded_requests() {
    let (op, input) = v1("Action=ListIdentities&IdentityType=Nope").unwrap();
    let err =
        validate::validate_input(Service::SesV1, model(Service::SesV1), &op, &input).unwrap_err();
    assert_eq!(err.code, "InvalidParameterValue");
    let (op, input) = v1("Action=VerifyEmailIdentity").unwrap();
    let err =
        validate::validate_input(Service::SesV1, model(Service::SesV1), &op, &input).unwrap_err();
    assert_eq!(err.code, "MissingParameter");
}

struct Impl;

#[async_trait::async_trait]
impl sesv2::SesV2Api for Impl {
    type Ctx = ();
    async fn get_email_identity(
        &self,
        _ctx: &(),
        input: sesv2::GetEmailIdentityRequest,
    ) -> Result<sesv2::GetEmailIdentityResponse, ApiError> {
        Ok(sesv2::GetEmailIdentityResponse {
            identity_type: Some(format!("EMAIL_ADDRESS:{}", input.email_identity)),
            ..Default::default()
        })
    }
}

struct V1;
impl ses::SesV1Api for V1 {
    type Ctx = ();
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The futures here never wait, so one poll with a no-op waker completes them.
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("future pending"),
    }
}

#[test]
fn generated_dispatch() {
    let out = block_on(sesv2::dispatch(
        &Impl,
        &(),
        "GetEmailIdentity",
        json!({"EmailIdentity": "a@b.c"}),
    ))
    .unwrap();
    assert_eq!(out, json!({"IdentityType": "EMAIL_ADDRESS:a@b.c"}));
    let err = block_on(sesv2::dispatch(
        &Impl,
        &(),
        "SendEmail",
        json!({"Content": {}}),
    ))
    .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.status),
        ("NotImplementedException", 501)
    );
    let err = block_on(sesv2::dispatch(&Impl, &(), "GetEmailIdentity", json!({}))).unwrap_err();
    assert_eq!(err.code, "BadRequestException");
    let err = block_on(sesv2::dispatch(&Impl, &(), "Nope", json!({}))).unwrap_err();
    assert_eq!(err.code, "UnknownOperationException");
    let err = block_on(ses::dispatch(
        &V1,
        &(),
        "VerifyEmailIdentity",
        json!({"EmailAddress": "a@b.c"}),
    ))
    .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        (
            "NotImplemented",
            "Operation VerifyEmailIdentity is not implemented by this Sesame deployment yet."
        )
    );
    assert!(sesv2::OPERATIONS.contains(&"CreateEmailIdentity"));
}
