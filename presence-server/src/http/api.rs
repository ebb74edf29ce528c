//! `GET /api/posts/{id}`, `GET /api/posts?ids=…`, `GET /api/top` and
//! `GET /api/stats`: the counts contract that dashboards rely on.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use presence_core::{PostId, PostStats, SiteStats};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};

#[derive(Serialize)]
pub struct PostBody {
    post_id: PostId,
    viewers: u64,
    views: u64,
}

impl PostBody {
    fn new(post_id: PostId, stats: PostStats) -> Self {
        Self {
            post_id,
            viewers: stats.viewers,
            views: stats.views,
        }
    }
}

#[derive(Serialize)]
pub struct PostsBody {
    posts: Vec<PostBody>,
}

#[derive(Deserialize)]
pub struct PostsQuery {
    ids: Option<String>,
}

pub async fn post(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<PostBody>, ApiError> {
    let post = PostId::parse(&raw)?;
    let stats = state.store.post_stats(std::slice::from_ref(&post)).await?;
    let stats = stats.into_iter().next().unwrap_or(PostStats {
        viewers: 0,
        views: 0,
    });
    Ok(Json(PostBody::new(post, stats)))
}

pub async fn posts(
    State(state): State<AppState>,
    Query(query): Query<PostsQuery>,
) -> Result<Json<PostsBody>, ApiError> {
    let max = state.max_batch_ids;
    let raw = query.ids.unwrap_or_default();
    if raw.is_empty() {
        return Err(ApiError::BadIdList { max });
    }
    if raw.split(',').count() > max {
        state.metrics.refused("batch_ids");
        return Err(ApiError::BadIdList { max });
    }
    let ids = raw
        .split(',')
        .map(PostId::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let stats = state.store.post_stats(&ids).await?;
    let posts = ids
        .into_iter()
        .zip(stats)
        .map(|(id, s)| PostBody::new(id, s))
        .collect();
    Ok(Json(PostsBody { posts }))
}

/// Site-wide figures are polled by every page that shows a popular list (the
/// WordPress plugin asks about once a second per visitor). One second of shared
/// caching (`s-maxage`) lets a CDN or proxy in front answer that crowd with one request
/// a second. Browsers must not keep it (`max-age=0`): a page polling every 0.8 s would
/// get every other answer from its own cache, a second old, and its lists would lag
/// past the two seconds a reader can notice.
const SITE_FIGURES_CACHE_CONTROL: HeaderValue =
    HeaderValue::from_static("public, max-age=0, s-maxage=1");

type SiteFigures<T> = ([(header::HeaderName, HeaderValue); 1], Json<T>);

fn site_figures<T>(body: T) -> SiteFigures<T> {
    (
        [(header::CACHE_CONTROL, SITE_FIGURES_CACHE_CONTROL)],
        Json(body),
    )
}

/// Posts `GET /api/top` lists when no limit is given.
const DEFAULT_TOP: usize = 10;

#[derive(Serialize)]
pub struct RankedPost {
    post_id: PostId,
    viewers: u64,
}

#[derive(Serialize)]
pub struct TopBody {
    posts: Vec<RankedPost>,
}

#[derive(Deserialize)]
pub struct TopQuery {
    limit: Option<String>,
}

/// The posts with the most readers now, most first; posts nobody reads are never
/// listed. At most `server.max_batch_ids`.
pub async fn top(
    State(state): State<AppState>,
    Query(query): Query<TopQuery>,
) -> Result<SiteFigures<TopBody>, ApiError> {
    let max = state.max_batch_ids;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_TOP.min(max),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or(ApiError::BadLimit { max })?,
    };
    let posts = state
        .store
        .top(limit)
        .await?
        .into_iter()
        .map(|(post_id, viewers)| RankedPost { post_id, viewers })
        .collect();
    Ok(site_figures(TopBody { posts }))
}

#[derive(Serialize)]
pub struct StatsBody {
    /// Readers on the whole site now.
    viewers: u64,
    /// Posts with at least one reader now.
    posts: u64,
}

pub async fn stats(State(state): State<AppState>) -> Result<SiteFigures<StatsBody>, ApiError> {
    let SiteStats { viewers, posts } = state.store.site_stats().await?;
    Ok(site_figures(StatsBody { viewers, posts }))
}
