//! `POST /api/posts/{id}/notices` and `POST /api/notices`: a site pushes a
//! notice to the readers of one post, or of the whole site.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use presence_core::PostId;
use presence_core::notice::NoticeRequest;
use presence_core::store::Admission;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::notices;

pub async fn to_post(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize(&state, &headers)?;
    let post = PostId::parse(&raw)?;
    send(&state, Some(post), &body).await
}

pub async fn to_site(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize(&state, &headers)?;
    send(&state, None, &body).await
}

async fn send(
    state: &AppState,
    post: Option<PostId>,
    body: &[u8],
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rules = &state.notice_rules;
    let request = NoticeRequest::parse(body, rules.max_text_chars, false)?;
    let (notice, admission) = notices::admit(&*state.store, rules, request, post, None).await?;
    match admission {
        Admission::Sent | Admission::Duplicate => {
            tracing::info!(id = %notice.id, post = ?notice.post_id, "notice sent");
            Ok((StatusCode::ACCEPTED, Json(json!({ "id": notice.id }))))
        }
        Admission::RateLimited => {
            state.metrics.refused("notices");
            Err(ApiError::NoticeRateLimited)
        }
    }
}

/// No token configured: the endpoints do not exist. Otherwise the bearer token
/// must match, compared in constant time.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.notice_rules.token else {
        return Err(ApiError::NotFound);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}
