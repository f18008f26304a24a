//! `GET /metrics`: the instance's metrics in the OpenMetrics text format, for Prometheus
//! (DECISIONS Q-175; the registry and its metric names are `sesame-metrics`).
//!
//! Served **without SigV4**, like Prometheus exporters: a scraper has no AWS credentials. What
//! it reveals is instance-wide — counts per recipient domain and queue gauges, never an account,
//! an address or a message — but recipient domains are still the operator's business, so the
//! API listener should not face the internet with this path open (docs/queue.md). Other methods
//! on the path reach the SES fallback (and get its usual error).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;

use crate::ApiState;

pub async fn get(State(state): State<ApiState>) -> Response {
    let rendered = state
        .metrics
        .render(&*state.engine.store, sesame_engine::now_ms())
        .await;
    let (status, content_type, body) = match rendered {
        Ok(text) => (StatusCode::OK, sesame_metrics::CONTENT_TYPE, text),
        Err(e) => {
            // Fail the scrape (Prometheus marks the target down) rather than serve queue gauges
            // of unknown age.
            tracing::warn!(error = %e, "metrics: reading the queue statistics failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                format!("queue statistics unavailable: {e}\n"),
            )
        }
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    resp
}
