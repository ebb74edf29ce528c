//! `POST /api/posts/{id}/notices` and `POST /api/notices`: a site pushes a
//! notice to the readers of one post, or of the whole site.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use presence_core::PostId;
use presence_core::notice::NoticeRequest;
use presence_core::signing::{self, unix_now};
use presence_core::store::Admission;
use serde_json::{Value, json};

use super::auth::{self, same_secret};
use super::client::ClientAddress;
use super::{ApiError, AppState};
use crate::notices;

/// The name wrong notice tokens are counted under in `presence_limited_total`.
const WRONG_TOKEN: &str = "notices_auth";

/// To one post's readers: with `notices.token` itself, or with a notice token for
/// this post signed with it (see `presence_core::signing`), which is what an
/// editor's browser sends after a save in WordPress.
pub async fn to_post(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = configured_token(&state)?;
    let post = PostId::parse(&raw)?;
    auth::authorize(&state, client, &headers, WRONG_TOKEN, |given| {
        same_secret(given, token.as_bytes())
            || std::str::from_utf8(given)
                .is_ok_and(|given| signing::verify_notice(&token, &post, given, unix_now()).is_ok())
    })?;
    send(&state, Some(post), &body).await
}

/// To every reader of the site: with `notices.token` only.
pub async fn to_site(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = configured_token(&state)?;
    auth::authorize(&state, client, &headers, WRONG_TOKEN, |given| {
        same_secret(given, token.as_bytes())
    })?;
    send(&state, None, &body).await
}

/// No token configured: the endpoints do not exist.
fn configured_token(state: &AppState) -> Result<std::sync::Arc<str>, ApiError> {
    state.notice_rules.token.clone().ok_or(ApiError::NotFound)
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
