//! `/dashboard`: a live page for editors, and `/dashboard/data`, the one JSON it
//! polls: site-wide readers, the top posts now and readers over the last hour.
//!
//! Both are behind `dashboard.token`, given as a bearer token or as the password
//! of basic auth (any user name), so a browser's own login prompt is enough. With
//! no token configured they do not exist (404).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use presence_core::{PostId, SiteStats};
use serde::Serialize;

use super::auth::{self, Denied, same_secret};
use super::client::ClientAddress;
use super::{ApiError, AppState};

const PAGE: &str = include_str!("dashboard.html");

/// Posts listed on the dashboard.
const TOP_POSTS: usize = 20;

pub async fn page(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
) -> Response {
    match authorize(&state, client, &headers) {
        Ok(()) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Html(PAGE),
        )
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Serialize)]
pub struct DashboardData {
    viewers: u64,
    posts: u64,
    top: Vec<TopPost>,
    /// `[unix seconds, readers]`, oldest first.
    history: Vec<(u64, u64)>,
    history_step_secs: u64,
}

#[derive(Serialize)]
struct TopPost {
    post_id: PostId,
    viewers: u64,
}

pub async fn data(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorize(&state, client, &headers) {
        return refusal.into_response();
    }
    let figures = async {
        let SiteStats { viewers, posts } = state.store.site_stats().await?;
        let top = state.store.top(TOP_POSTS).await?;
        let history = state.store.history().await?;
        Ok::<_, ApiError>(DashboardData {
            viewers,
            posts,
            top: top
                .into_iter()
                .map(|(post_id, viewers)| TopPost { post_id, viewers })
                .collect(),
            history: history.iter().map(|s| (s.at, s.viewers)).collect(),
            history_step_secs: state.dashboard.history_step_secs,
        })
    };
    match figures.await {
        Ok(data) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(data),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

/// Why a dashboard request was not let through.
enum Refusal {
    /// No `dashboard.token`: the dashboard does not exist (404).
    Off,
    /// Missing or wrong credentials: 401 with a basic-auth challenge, so a browser
    /// asks its user.
    Unauthorized,
    /// Too many wrong credentials from the address.
    Locked(ApiError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Off => ApiError::NotFound.into_response(),
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"presence dashboard\", charset=\"UTF-8\""),
                )],
                "the dashboard needs dashboard.token: as the password (any user name) or as a bearer token\n",
            )
                .into_response(),
            Refusal::Locked(error) => error.into_response(),
        }
    }
}

fn authorize(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let expected = state.dashboard.token.as_bytes();
    if expected.is_empty() {
        return Err(Refusal::Off);
    }
    auth::authorize(state, client, headers, "dashboard_auth", |given| {
        same_secret(given, expected)
    })
    .map_err(|denied| match denied {
        Denied::Wrong => Refusal::Unauthorized,
        locked @ Denied::Locked(_) => Refusal::Locked(locked.into()),
    })
}
