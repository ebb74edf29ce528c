//! What every part of this server process shares: cheap handles, cloned where a
//! task needs its own.

use std::future::Future;
use std::sync::Arc;

use presence_core::{Config, Store};
use tokio::task::JoinHandle;
use tracing::{Instrument, Span};

use crate::ServerError;
use crate::feeds::Feeds;
use crate::hub::HubHandle;
use crate::metrics::{MeteredStore, Metrics};
use crate::registry::Sessions;
use crate::security::Guard;
use crate::worker::Workers;

pub struct Process {
    /// The store, timed and counted in the metrics.
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    /// What each socket here asks for.
    pub sessions: Sessions,
    /// They carry each session's wishes to the store and report to the hub.
    pub workers: Workers,
    /// The one writer of counts to sockets.
    pub hub: HubHandle,
    /// The security settings and limits.
    pub guard: Arc<Guard>,
    /// Event streams' feeds, published by the hub.
    pub feeds: Arc<Feeds>,
    /// Every log line of this server, its tasks' and its handlers' included,
    /// carries the node name: with several servers in one journal or log
    /// pipeline, it is the first thing an operator filters on.
    pub span: Span,
}

impl Process {
    pub fn open(config: &Config, hub: HubHandle) -> Result<Self, ServerError> {
        let metrics = Arc::new(Metrics::default());
        let store = MeteredStore::wrap(presence_core::open_store(config)?, metrics.clone());
        let sessions = Sessions::new(config.security.max_posts_per_socket, metrics.clone());
        Ok(Self {
            workers: Workers::new(store.clone(), sessions.clone(), hub.clone()),
            guard: Arc::new(Guard::new(&config.security, metrics.clone())),
            feeds: Arc::new(Feeds::default()),
            span: tracing::info_span!("presence", node = %config.node_name()),
            store,
            metrics,
            sessions,
            hub,
        })
    }

    /// Runs `task` in the background, in this server's span.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        tokio::spawn(task.instrument(self.span.clone()))
    }
}
