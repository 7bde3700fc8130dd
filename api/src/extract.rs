//! Extractors whose rejections are [`ApiError`]s, so a malformed request gets the
//! API's JSON error format instead of axum's plain-text one.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::validate;

/// A JSON request body: an object. Wrong content type, bad JSON, a top level that is not
/// an object, missing or unknown fields → 400 `invalid_request`; a body over the limit →
/// 413 `payload_too_large`.
///
/// The object check matters: serde's derived `Deserialize` also reads a struct from an
/// array of its fields in order (`deny_unknown_fields` does not stop that), so without
/// it `[]` or `["02…", 1000]` would pass as a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match Json::<Value>::from_request(request, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        if !value.is_object() {
            return Err(ApiError::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        }
        T::deserialize(value)
            .map(ApiJson)
            .map_err(|e| ApiError::InvalidRequest(format!("the JSON body: {e}")))
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::InvalidRequest("expected a JSON body (Content-Type: application/json)".into())
        }
        status if status.is_server_error() => {
            tracing::error!(%status, error = %rejection.body_text(), "reading a request body failed");
            ApiError::Internal
        }
        _ => ApiError::InvalidRequest(rejection.body_text()),
    }
}

/// Query-string parameters; malformed ones → 400 `invalid_request`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::InvalidRequest(rejection.body_text())
}

/// The header that makes a request that moves money or funds safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A request's `Idempotency-Key` header, checked by [`validate::idempotency_key`]
/// (400 `invalid_request` if malformed); `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdempotencyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(IDEMPOTENCY_KEY)
            .map(|value| validate::idempotency_key(value.as_bytes()))
            .transpose()
            .map(IdempotencyHeader)
    }
}

impl IdempotencyHeader {
    /// The key, or 400 `invalid_request` naming the header when the route requires one.
    pub fn required(self) -> Result<String, ApiError> {
        self.0.ok_or_else(|| {
            ApiError::InvalidRequest(
                "Idempotency-Key: this request moves money and needs the header \
                 (1-128 visible ASCII characters), so a retry cannot pay twice"
                    .into(),
            )
        })
    }
}

/// Path parameters; undecodable ones → 400 `invalid_request`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    if rejection.status().is_server_error() {
        // A route/handler mismatch: a bug, not the client's fault.
        tracing::error!(error = %rejection.body_text(), "path parameters do not fit the handler");
        ApiError::Internal
    } else {
        ApiError::InvalidRequest(rejection.body_text())
    }
}
