//! Cross-cutting layers: the request timeout, request metrics, and the JSON answers
//! for unknown routes and wrong methods.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The request counter, labelled by `route`, `method` and `status`.
pub const REQUESTS_TOTAL: &str = "sluice_api_requests_total";
/// The request latency histogram (seconds), labelled by `route` and `method`.
pub const REQUEST_SECONDS: &str = "sluice_api_request_seconds";
/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Middleware: answers 504 `timeout` when the rest of the stack takes longer than the
/// configured timeout. The handler's future is dropped at that point.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(format!(
            "the request took longer than {}s",
            limit.as_secs_f64()
        ))
        .into_response(),
    }
}

/// The route template a response was produced by, for metric labels.
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// Route-level middleware: records the matched route template on the response, where
/// [`record_metrics`] (which runs before routing) can find it.
pub async fn label_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Middleware: counts and times every request with the `metrics` facade.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |label| label.0.clone());
    let status = response.status().as_u16().to_string();
    metrics::histogram!(REQUEST_SECONDS, "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS_TOTAL, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// A bounded set of method labels, so odd methods cannot grow the label space.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The fallback for unknown routes: 404 `not_found`.
pub async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// The fallback for known routes called with the wrong method: 405
/// `method_not_allowed` (axum adds the `Allow` header).
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
