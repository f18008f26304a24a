//! Hosted unsubscribe (spec F-184..F-187, F-192, SH-12; DECISIONS ),
//! served on the API listener without SigV4 — recipients have no credentials; the token's
//! HMAC is the authentication (`sesame_engine::contacts::unsubscribe`):
//!
//! - `GET /unsubscribe/{token}` → the landing page: the list's topics, each with an
//!   "subscribed / unsubscribed" choice set to the contact's current status, "unsubscribe from
//!   all", and a button that unsubscribes from everything at once. It changes nothing (RFC 8058
//!   §3.2: link scanners fetch URLs with GET).
//! - `POST /unsubscribe/{token}` with `List-Unsubscribe=One-Click` (RFC 8058 §3.1, as
//!   `application/x-www-form-urlencoded` or `multipart/form-data`) → the token's topic is
//!   opted out, or the whole list when the token names none (F-186); `200`, source
//!   `UnsubscribeHeader`.
//! - `POST /unsubscribe/{token}` from the page's form (`form=preferences` with
//!   `topic.<name>=OPT_IN|OPT_OUT` and `unsubscribe_all=on`, or `form=unsubscribe-all`) → the
//!   preferences are saved and the page shown again; source `UnsubscribeLink` (F-187, Q-151).
//!
//! A token that does not verify gets `400` and changes nothing; a list deleted since the send
//! gets `404` "no longer exists". Pages are self-contained (no scripts, no external
//! resources), never cached, and every piece of customer text is HTML-escaped.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use sesame_engine::contacts::unsubscribe::{
    sources, ChangeOutcome, UnsubscribePage, UnsubscribeToken,
};
use sesame_engine::contacts::{PreferenceChange, SubscriptionStatus};
use sesame_mail::list_unsubscribe::ONE_CLICK;

use crate::ApiState;

/// Largest request body read: the form of a 20-topic list is far below this.
const MAX_BODY: usize = 64 * 1024;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
    background:#f4f5f7;color:#1d2129;margin:0;padding:2rem 1rem}\
    main{max-width:34rem;margin:0 auto;background:#fff;border-radius:8px;\
    box-shadow:0 1px 3px rgba(0,0,0,.12);padding:1.5rem 2rem}\
    h1{font-size:1.35rem;margin:0 0 .5rem}p{line-height:1.45}\
    .who{color:#555}.note{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.6rem .8rem}\
    fieldset{border:1px solid #dde1e6;border-radius:6px;margin:0 0 .8rem;padding:.6rem .9rem}\
    legend{font-weight:600;padding:0 .3rem}.desc{color:#555;font-size:.92rem;margin:.1rem 0 .5rem}\
    label{margin-right:1.2rem;white-space:nowrap}.all{margin:1rem 0}\
    button{font:inherit;padding:.5rem 1.1rem;border-radius:6px;border:1px solid #1a73e8;\
    background:#1a73e8;color:#fff;cursor:pointer}\
    button.secondary{background:#fff;color:#b3261e;border-color:#b3261e}\
    .actions{display:flex;gap:.8rem;flex-wrap:wrap;margin-top:1rem}\
    footer{color:#777;font-size:.8rem;text-align:center;margin-top:1rem}";

fn html(status: StatusCode, title: &str, body: &str, brand: &str) -> Response {
    let doc = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{t}</title><style>{STYLE}</style></head>\
         <body><main><h1>{t}</h1>{body}</main><footer>{b}</footer></body></html>\n",
        t = escape(title),
        b = escape(brand),
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header("Referrer-Policy", "no-referrer")
        .header("X-Frame-Options", "DENY")
        .body(Body::from(doc))
        .expect("static response")
}

fn message(state: &ApiState, status: StatusCode, title: &str, text: &str) -> Response {
    html(
        status,
        title,
        &format!("<p>{}</p>", escape(text)),
        &state.engine.settings.verification.brand,
    )
}

fn invalid(state: &ApiState) -> Response {
    message(
        state,
        StatusCode::BAD_REQUEST,
        "Invalid link",
        "This unsubscribe link is not valid. Check that you copied the whole link from the email.",
    )
}

fn list_gone(state: &ApiState) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        "List no longer exists",
        "This mailing list no longer exists, so you will not receive mail from it.",
    )
}

fn failure(state: &ApiState, e: &sesame_engine::EngineError) -> Response {
    tracing::error!(error = %e, "unsubscribe request failed");
    message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Your request could not be processed. Please try again later.",
    )
}

/// The landing page (F-187), with `note` above the form when set.
fn landing(state: &ApiState, p: &UnsubscribePage, note: Option<&str>) -> Response {
    let mut b = String::new();
    if let Some(n) = note {
        b.push_str(&format!("<p class=\"note\">{}</p>", escape(n)));
    }
    b.push_str(&format!(
        "<p class=\"who\">Subscription preferences of <strong>{}</strong> for the list \
         <strong>{}</strong>.</p>",
        escape(&p.email),
        escape(&p.list.name)
    ));
    if let Some(d) = &p.list.description {
        b.push_str(&format!("<p>{}</p>", escape(d)));
    }
    b.push_str("<form method=\"post\"><input type=\"hidden\" name=\"form\" value=\"preferences\">");
    for (t, status) in &p.topics {
        let name = format!("topic.{}", t.topic_name);
        let checked = |s: SubscriptionStatus| if *status == s { " checked" } else { "" };
        let here = if p.topic.as_deref() == Some(t.topic_name.as_str()) {
            " <small>(this email)</small>"
        } else {
            ""
        };
        b.push_str(&format!(
            "<fieldset><legend>{}{here}</legend>",
            escape(&t.display_name)
        ));
        if let Some(d) = &t.description {
            b.push_str(&format!("<p class=\"desc\">{}</p>", escape(d)));
        }
        b.push_str(&format!(
            "<label><input type=\"radio\" name=\"{n}\" value=\"OPT_IN\"{i}> Subscribed</label>\
             <label><input type=\"radio\" name=\"{n}\" value=\"OPT_OUT\"{o}> Unsubscribed</label>\
             </fieldset>",
            n = escape(&name),
            i = checked(SubscriptionStatus::OptIn),
            o = checked(SubscriptionStatus::OptOut),
        ));
    }
    b.push_str(&format!(
        "<p class=\"all\"><label><input type=\"checkbox\" name=\"unsubscribe_all\"{}> \
         Unsubscribe from all topics of this list</label></p>\
         <div class=\"actions\"><button type=\"submit\">Save preferences</button></div></form>\
         <form method=\"post\"><input type=\"hidden\" name=\"form\" value=\"unsubscribe-all\">\
         <div class=\"actions\"><button type=\"submit\" class=\"secondary\">Unsubscribe from \
         everything</button></div></form>",
        if p.unsubscribe_all { " checked" } else { "" }
    ));
    html(
        StatusCode::OK,
        "Manage your subscription",
        &b,
        &state.engine.settings.verification.brand,
    )
}

fn verify(state: &ApiState, token: &str) -> Option<UnsubscribeToken> {
    state.engine.open_unsubscribe_token(token)
}

/// `GET /unsubscribe/{token}`.
pub async fn get(State(state): State<ApiState>, Path(token): Path<String>) -> Response {
    let Some(tok) = verify(&state, &token) else {
        return invalid(&state);
    };
    match state.engine.unsubscribe_page(&tok).await {
        Ok(Some(p)) => landing(&state, &p, None),
        Ok(None) => list_gone(&state),
        Err(e) => failure(&state, &e),
    }
}

/// What a POST body asks for.
#[derive(Debug, PartialEq)]
enum PostKind {
    OneClick,
    Form(PreferenceChange),
    Unknown,
}

/// RFC 8058 §3.1 / the page's forms (see the module docs).
fn parse_post(headers: &HeaderMap, body: &[u8]) -> PostKind {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let fields: Vec<(String, String)> = if ctype.starts_with("multipart/form-data") {
        multipart_fields(&ctype, body)
    } else {
        form_urlencoded::parse(body).into_owned().collect()
    };
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim());
    let (name, value) = ONE_CLICK.split_once('=').expect("constant");
    if field(name) == Some(value) {
        return PostKind::OneClick;
    }
    match field("form") {
        Some("unsubscribe-all") => PostKind::Form(PreferenceChange::Form {
            unsubscribe_all: true,
            topics: vec![],
        }),
        Some("preferences") => PostKind::Form(PreferenceChange::Form {
            unsubscribe_all: field("unsubscribe_all").is_some(),
            topics: fields
                .iter()
                .filter_map(|(k, v)| {
                    let topic = k.strip_prefix("topic.")?;
                    let status = SubscriptionStatus::parse(v.trim()).ok()?;
                    Some((topic.to_string(), status))
                })
                .collect(),
        }),
        _ => PostKind::Unknown,
    }
}

/// The text fields of a `multipart/form-data` body (RFC 7578), leniently: enough for the
/// one-click field, which is all a mail client sends.
fn multipart_fields(ctype: &str, body: &[u8]) -> Vec<(String, String)> {
    let Some(boundary) = ctype.split(';').find_map(|p| {
        let p = p.trim();
        p.strip_prefix("boundary=")
            .map(|b| b.trim_matches('"').to_string())
    }) else {
        return vec![];
    };
    // The content type was lower-cased; the boundary is matched case-insensitively too.
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let mut starts: Vec<usize> = lower.match_indices(&delim).map(|(i, _)| i).collect();
    starts.push(text.len());
    for w in starts.windows(2) {
        let part = &text[w[0] + delim.len()..w[1]];
        let Some((head, value)) = part
            .split_once("\r\n\r\n")
            .or_else(|| part.split_once("\n\n"))
        else {
            continue;
        };
        let name = head.lines().find_map(|l| {
            let l = l.trim();
            if !l.to_ascii_lowercase().starts_with("content-disposition:") {
                return None;
            }
            let i = l.find("name=\"")? + 6;
            let n = &l[i..];
            Some(n[..n.find('"')?].to_string())
        });
        if let Some(name) = name {
            let value = value.trim_end_matches(['\r', '\n']).to_string();
            out.push((name, value));
        }
    }
    out
}

/// `POST /unsubscribe/{token}`.
pub async fn post(
    State(state): State<ApiState>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let Some(tok) = verify(&state, &token) else {
        return invalid(&state);
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return message(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            "The request could not be read.",
        );
    };
    let now = sesame_engine::now_ms();
    let (change, source) = match parse_post(&parts.headers, &body) {
        PostKind::OneClick => (
            PreferenceChange::OneClick {
                topic: tok.p.clone(),
            },
            sources::UNSUBSCRIBE_HEADER,
        ),
        PostKind::Form(change) => (change, sources::UNSUBSCRIBE_LINK),
        PostKind::Unknown => {
            return message(
                &state,
                StatusCode::BAD_REQUEST,
                "Unrecognised request",
                "Nothing was changed.",
            )
        }
    };
    let outcome = match state
        .engine
        .change_subscription(&tok, &change, source, now)
        .await
    {
        Ok(o) => o,
        Err(e) => return failure(&state, &e),
    };
    tracing::info!(message_id = %tok.m, list = %tok.l, source, ?outcome, "subscription preferences changed");
    if outcome == ChangeOutcome::ListGone {
        return list_gone(&state);
    }
    if source == sources::UNSUBSCRIBE_HEADER {
        let what = match &tok.p {
            Some(_) => "You will no longer receive emails about this topic.",
            None => "You will no longer receive emails from this list.",
        };
        return message(&state, StatusCode::OK, "You have been unsubscribed", what);
    }
    match state.engine.unsubscribe_page(&tok).await {
        Ok(Some(p)) => landing(&state, &p, Some("Your preferences have been saved.")),
        Ok(None) => list_gone(&state),
        Err(e) => failure(&state, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ctype: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ctype.parse().unwrap());
        h
    }

    /// RFC 8058 §3.1: the one-click body in both encodings; the page's two forms; anything
    /// else is not a change.
    #[test]
    fn post_bodies() {
        let form = "application/x-www-form-urlencoded";
        assert_eq!(
            parse_post(&headers(form), b"List-Unsubscribe=One-Click"),
            PostKind::OneClick
        );
        assert_eq!(
            parse_post(&HeaderMap::new(), b"List-Unsubscribe=One-Click"),
            PostKind::OneClick
        );
        let multi = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
            One-Click\r\n--XyZ--\r\n";
        assert_eq!(
            parse_post(
                &headers("multipart/form-data; boundary=XyZ"),
                multi.as_bytes()
            ),
            PostKind::OneClick
        );
        assert_eq!(
            parse_post(
                &headers(form),
                b"form=preferences&topic.Sports=OPT_IN&topic.Cycling=OPT_OUT&topic.X=maybe&unsubscribe_all=on"
            ),
            PostKind::Form(PreferenceChange::Form {
                unsubscribe_all: true,
                topics: vec![
                    ("Sports".into(), SubscriptionStatus::OptIn),
                    ("Cycling".into(), SubscriptionStatus::OptOut)
                ],
            })
        );
        assert_eq!(
            parse_post(&headers(form), b"form=unsubscribe-all"),
            PostKind::Form(PreferenceChange::Form {
                unsubscribe_all: true,
                topics: vec![],
            })
        );
        for body in [&b""[..], b"List-Unsubscribe=Yes", b"form=other"] {
            assert_eq!(parse_post(&headers(form), body), PostKind::Unknown);
        }
    }

    #[test]
    fn customer_text_is_escaped() {
        assert_eq!(
            escape("<b onclick='x'>\"&"),
            "&lt;b onclick=&#39;x&#39;&gt;&quot;&amp;"
        );
    }
}
