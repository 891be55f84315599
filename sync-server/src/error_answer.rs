//! The JSON error answer that every HTTP route of the relay gives, the websocket upgrade's
//! refusals included, so that a script or the web app reads every failure the same way:
//! `{"error": "<one line for a person>", "code": "<for a program>"}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error answer: `{"error": message, "code": ...}` with a code named after the status,
/// never cached, with `WWW-Authenticate` on a 401.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ => "internal",
    };
    coded_error(status, message, code)
}

/// An error answer with an explicit machine-readable `code`.
pub(crate) fn coded_error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = serde_json::json!({ "error": message, "code": code });
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
