//! The open/click tracking endpoints (spec G-50, G-51, G-63, G-64; DECISIONS Q-228..Q-233),
//! served on the API listener without SigV4 — the recipient's mail client has no credentials;
//! the token's HMAC is the authentication (`sesame_engine::tracking`):
//!
//! - `GET /track/open/{token}` → `200` with a 1×1 transparent GIF (`Cache-Control: no-store`)
//!   and an `Open` event;
//! - `GET /track/click/{token}` → `302` to the original URL (from the signed token, so this is
//!   no open redirect) and a `Click` event.
//!
//! A token that does not verify gets a `400` HTML page and records nothing; it is never
//! redirected. Every fetch is its own event. The event's `ipAddress` is the peer
//! address, or the first `X-Forwarded-For` entry when `tracking_trust_forwarded_for` is set;
//! `userAgent` is the `User-Agent` header. A store failure is logged and the recipient still
//! gets the pixel or the redirect: their mail must keep working.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use sesame_engine::tracking::{TrackingToken, Visitor};

use crate::ApiState;

/// A 1×1 transparent GIF89a (43 bytes).
pub const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn visitor(state: &ApiState, peer: Option<SocketAddr>, headers: &HeaderMap) -> Visitor {
    let forwarded = state
        .engine
        .settings
        .tracking
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
    Visitor {
        ip_address: forwarded
            .or_else(|| peer.map(|p| p.ip().to_canonical().to_string()))
            .unwrap_or_default(),
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default(),
        at_ms: sesame_engine::now_ms(),
    }
}

fn invalid() -> Response {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Invalid link</title></head>\
             <body><h1>Invalid link</h1><p>This link is not valid. Check that you copied the whole link from the email.</p></body></html>\n",
        ))
        .expect("static response")
}

async fn record(state: &ApiState, tok: &TrackingToken, who: &Visitor) {
    match state.engine.record_engagement(tok, who).await {
        Ok(recorded) => {
            tracing::debug!(message_id = %tok.m, kind = %tok.k, recorded, "tracking hit")
        }
        Err(e) => {
            tracing::error!(message_id = %tok.m, kind = %tok.k, error = %e, "could not record a tracking event")
        }
    }
}

fn peer(ci: Option<ConnectInfo<SocketAddr>>) -> Option<SocketAddr> {
    ci.map(|ConnectInfo(a)| a)
}

/// `GET /track/open/{token}`.
pub async fn open(
    State(state): State<ApiState>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let (ci, headers) = (
        req.extensions().get::<ConnectInfo<SocketAddr>>().cloned(),
        req.headers(),
    );
    let Some(tok) = state
        .engine
        .open_tracking_token(&token)
        .filter(|t| t.k == "o")
    else {
        return invalid();
    };
    record(&state, &tok, &visitor(&state, peer(ci), headers)).await;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "image/gif")
        .header(
            header::CACHE_CONTROL,
            "no-store, no-cache, must-revalidate, max-age=0",
        )
        .body(Body::from(PIXEL_GIF))
        .expect("static response")
}

/// `GET /track/click/{token}`.
pub async fn click(
    State(state): State<ApiState>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let (ci, headers) = (
        req.extensions().get::<ConnectInfo<SocketAddr>>().cloned(),
        req.headers(),
    );
    let Some(tok) = state
        .engine
        .open_tracking_token(&token)
        .filter(|t| t.k == "c" && sesame_mail::tracking::trackable_url(&t.u))
    else {
        return invalid();
    };
    record(&state, &tok, &visitor(&state, peer(ci), headers)).await;
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, tok.u.as_str())
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .expect("redirect response")
}
