//! One error type for every handler: it knows its status and its JSON body.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use presence_core::notice::NoticeError;
use presence_core::{IdError, StoreError};
use serde_json::json;
use thiserror::Error;

use super::auth::Denied;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    BadPostId(#[from] IdError),
    #[error("ids: give between 1 and {max} comma-separated post ids")]
    BadIdList { max: usize },
    #[error("the store is unavailable")]
    Unavailable(#[from] StoreError),
    #[error("{0}")]
    BadNotice(#[from] NoticeError),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("notices to this post or site are rate limited; try again in a minute")]
    NoticeRateLimited,
    #[error("not found")]
    NotFound,
    #[error("limit: give a number from 1 to {max}")]
    BadLimit { max: usize },
    #[error("too many open streams from your address")]
    TooManyStreams,
    #[error("too many wrong tokens from your address; try again in {} s", .0.as_secs().max(1))]
    TooManyGuesses(Duration),
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Wrong => ApiError::Unauthorized,
            Denied::Locked(wait) => ApiError::TooManyGuesses(wait),
        }
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadPostId(error) => (StatusCode::BAD_REQUEST, error.code()),
            ApiError::BadIdList { .. } => (StatusCode::BAD_REQUEST, "invalid_id_list"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::BadNotice(_) => (StatusCode::BAD_REQUEST, "invalid_notice"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NoticeRateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadLimit { .. } => (StatusCode::BAD_REQUEST, "invalid_limit"),
            ApiError::TooManyStreams => (StatusCode::TOO_MANY_REQUESTS, "too_many_streams"),
            ApiError::TooManyGuesses(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_guesses"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Unavailable(error) = &self {
            tracing::warn!(%error, "API request failed");
        }
        let body = json!({ "error": code, "message": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyGuesses(wait) = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}
