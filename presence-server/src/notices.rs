//! Notices: admitting them (HTTP or the Redis submission channel) and delivering
//! admitted ones to this process's sockets.

use std::sync::Arc;

use presence_core::notice::{Notice, NoticeError, NoticeRequest};
use presence_core::store::Admission;
use presence_core::{PostId, Store, StoreError};
use rand::Rng;
use sha2::{Digest, Sha256};
use socketioxide::SocketIo;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::wire;

/// What notices need from the config.
#[derive(Clone)]
pub struct NoticeRules {
    /// The bearer token of the HTTP endpoints. `None`: notices are off, the
    /// endpoints answer 404 and submissions on the Redis channel are ignored too.
    pub token: Option<Arc<str>>,
    pub max_text_chars: usize,
    pub per_post_per_minute: u32,
    pub site_per_minute: u32,
}

impl From<&presence_core::config::NoticesConfig> for NoticeRules {
    fn from(config: &presence_core::config::NoticesConfig) -> Self {
        Self {
            token: (!config.token.is_empty()).then(|| config.token.as_str().into()),
            max_text_chars: config.max_text_chars,
            per_post_per_minute: config.per_post_per_minute,
            site_per_minute: config.site_per_minute,
        }
    }
}

impl NoticeRules {
    fn quota(&self, post: Option<&PostId>) -> u32 {
        match post {
            Some(_) => self.per_post_per_minute,
            None => self.site_per_minute,
        }
    }
}

/// A fresh notice id: random, so clients can drop a repeat.
pub fn new_id() -> String {
    format!("n-{:016x}", rand::rng().random::<u64>())
}

/// Admits a validated request for `post` (or the site): rate-limited across all
/// processes, then on its way to every reader.
pub async fn admit(
    store: &dyn Store,
    rules: &NoticeRules,
    request: NoticeRequest,
    post: Option<PostId>,
    dedupe: Option<&str>,
) -> Result<(Notice, Admission), StoreError> {
    let notice = request.into_notice(new_id(), post);
    let quota = rules.quota(notice.post_id.as_ref());
    let admission = store.admit_notice(&notice, quota, dedupe).await?;
    Ok((notice, admission))
}

/// Delivers admitted notices to local rooms, and admits submissions from the
/// Redis channel (validated exactly like the HTTP API's).
pub async fn run(
    store: Arc<dyn Store>,
    io: SocketIo,
    rules: NoticeRules,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut admitted = store.notices();
    let mut submitted = store.notice_submissions();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            notice = admitted.recv() => match notice {
                Ok(notice) => deliver(&io, &notice, &metrics).await,
                Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "notices lost: delivery fell behind"),
                Err(RecvError::Closed) => return,
            },
            raw = submitted.recv(), if rules.token.is_some() => match raw {
                Ok(raw) => submit(&*store, &rules, &raw).await,
                Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "notice submissions lost"),
                // The memory store has no submission channel; keep delivering.
                Err(RecvError::Closed) => submitted = store.notice_submissions(),
            },
        }
    }
}

async fn deliver(io: &SocketIo, notice: &Notice, metrics: &Metrics) {
    wire::deliver_notice(io, notice).await;
    metrics.notices_delivered.inc();
}

/// Every server receives every submission; the first to admit it wins (the
/// digest of the raw message is the dedupe key), the others are told `Duplicate`.
async fn submit(store: &dyn Store, rules: &NoticeRules, raw: &str) {
    let request = match NoticeRequest::parse(raw.as_bytes(), rules.max_text_chars, true) {
        Ok(request) => request,
        Err(error) => return log_refused(raw, &error),
    };
    let digest = hex::encode(Sha256::digest(raw.as_bytes()));
    match admit(store, rules, request, None, Some(&digest)).await {
        Ok((notice, Admission::Sent)) => {
            tracing::info!(id = %notice.id, post = ?notice.post_id, "notice from the Redis channel sent")
        }
        Ok((notice, Admission::RateLimited)) => {
            tracing::warn!(post = ?notice.post_id, "notice from the Redis channel dropped: rate limit")
        }
        Ok((_, Admission::Duplicate)) => {}
        Err(error) => tracing::warn!(%error, "notice from the Redis channel not admitted"),
    }
}

fn log_refused(raw: &str, error: &NoticeError) {
    let excerpt: String = raw.chars().take(120).collect();
    tracing::warn!(%error, message = %excerpt, "invalid notice on the Redis channel dropped");
}
