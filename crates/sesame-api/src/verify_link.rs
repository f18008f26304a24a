//! `GET /verify?t=TOKEN`: the link of address verification emails (spec D-33..D-35, D-56;
//! DECISIONS Q-84), served on the API listener without SigV4 — the recipient's browser has
//! no credentials; the token's HMAC is the authentication (`sesame_engine::email_verification`).
//!
//! Answers: a plain HTML page — 200 "verified", 410 "expired" or "replaced", 400 "invalid"
//! (nothing changed) — or, for an email sent from a custom verification template, a `302` to
//! its `SuccessRedirectionURL` / `FailureRedirectionURL` (D-56). Pages are never cached.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sesame_engine::email_verification::ClickOutcome;

use crate::ApiState;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    pub t: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{x}</p></body></html>\n",
        t = escape(title),
        x = escape(text)
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(html))
        .expect("static response")
}

fn redirect(url: &str) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, url)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .expect("redirect response")
}

pub async fn get(State(state): State<ApiState>, Query(p): Query<Params>) -> Response {
    let brand = state.engine.settings.verification.brand.clone();
    let Some(token) = p.t.filter(|t| !t.is_empty() && t.len() <= 4096) else {
        return invalid();
    };
    let outcome = match state
        .engine
        .confirm_email_verification(&token, sesame_engine::now_ms())
        .await
    {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "verification link");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "The verification could not be completed. Please try the link again later.",
            );
        }
    };
    tracing::info!(?outcome, "verification link clicked");
    match outcome {
        ClickOutcome::Verified { redirect: Some(u), .. } => redirect(&u),
        ClickOutcome::Verified { identity, .. } => page(
            StatusCode::OK,
            "Email address verified",
            &format!(
                "Congratulations! You have successfully verified the email address {identity}. You can now start sending email from this address with {brand}."
            ),
        ),
        ClickOutcome::Expired { redirect: Some(u), .. }
        | ClickOutcome::Replaced { redirect: Some(u), .. } => redirect(&u),
        ClickOutcome::Expired { identity, .. } => page(
            StatusCode::GONE,
            "Verification failed",
            &format!(
                "This link has expired. The email address {identity} was not verified; request a new verification email to try again."
            ),
        ),
        ClickOutcome::Replaced { identity, .. } => page(
            StatusCode::GONE,
            "Verification failed",
            &format!(
                "This link is no longer valid: a newer verification email was sent for {identity}. Use the link in the most recent email."
            ),
        ),
        ClickOutcome::Invalid => invalid(),
    }
}

fn invalid() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Verification failed",
        "This verification link is not valid. Check that you copied the whole link from the email.",
    )
}
