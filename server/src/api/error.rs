//! The one error type of kmviz's API: a status and a message, answered as
//! `{"error": message}`.

use app::model::query::InputError;
use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::RequestError;
use crate::session::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds before trying again makes sense (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 429: a client over its quota ([`super::rate`]).
    pub fn too_many(message: impl Into<String>, retry_after: Option<u64>) -> ApiError {
        ApiError {
            retry_after,
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl ApiError {
    /// What the client is told: the message, or for a server error only that there was one
    /// (the details go to the log, not to clients).
    pub fn told(&self) -> String {
        if self.status.is_server_error() {
            tracing::error!("{}", self.message);
            "internal error (details are in the server's log)".to_owned()
        } else {
            self.message.clone()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(app::api::ErrorBody { error: self.told() });
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<RequestError> for ApiError {
    /// A database the instance does not have is not found, whether the path or the body
    /// names it; any other fault of a request is the request's.
    fn from(e: RequestError) -> ApiError {
        match e {
            RequestError::UnknownDatabase { .. } => ApiError::not_found(e.to_string()),
            _ => ApiError::bad_request(e.to_string()),
        }
    }
}

impl From<InputError> for ApiError {
    /// Queries that cannot be read, or that break the instance's input limits.
    fn from(e: InputError) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::internal(e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        // A body that is too large keeps its 413; any other unreadable body is a bad request.
        let status = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => e.status(),
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.body_text())
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> ApiError {
        ApiError::new(e.status(), e.body_text())
    }
}
