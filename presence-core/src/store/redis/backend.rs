//! The two ways to reach Redis: connections to one server, or one cluster
//! connection that routes each command (or one-slot pipeline) to the master of its
//! slot and follows MOVED, failovers and resharding.
//!
//! On one server, the commands of single events (a reader's view or leave, count
//! reads for pushes and the HTTP API) share one multiplexed connection: whatever
//! is in flight at a moment goes out in one write and comes back in one read, with
//! no checkout. A pool of such connections was the bottleneck of a join storm: each
//! call held a connection for its round trip, plus deadpool's health-check PING on
//! every checkout, so at a few thousand joins per second on a loaded machine calls
//! timed out waiting for a slot while Redis itself was idle (BENCHMARKS.md).
//! Batches (keep-alive's EXPIREs, the removal of every session at shutdown, gc's
//! sweep) take pooled connections instead, so a batch of hundreds of commands never
//! holds up a reader's view behind it.

use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::{TcpSettings, socket2::TcpKeepalive};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisFuture, Value,
};
use tokio::sync::OnceCell;

use crate::config::{RedisConfig, RedisMode};
use crate::error::StoreError;

/// How long a request waits for a pooled connection, or for a new one to Redis.
/// Short, so a dead Redis turns into a quick error instead of stuck sockets.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one command may take to answer. redis-rs defaults to 500 ms, which a
/// loaded 2-core machine exceeds under a join storm while Redis itself answers in
/// microseconds: the timeouts then fail views that would have succeeded. A Redis
/// that is really gone refuses or resets connections, which is noticed at once.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long data sent to Redis may stay unacknowledged by its host before the
/// connection counts as dead (`TCP_USER_TIMEOUT`), and how soon an idle one is
/// probed (keepalive). A Redis host that vanishes without a reset (a failover that
/// moves an address, a dead VM) would otherwise leave a half-open connection that
/// only times out calls, one by one, until the kernel gives up after many minutes;
/// a dead connection is an error the shared connection reconnects on.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Our TCP settings for every connection to Redis: no Nagle delay (requests are
/// small and pipelined), and dead peers noticed (see [`TCP_USER_TIMEOUT`]).
pub fn tcp_settings() -> TcpSettings {
    TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(
            TcpKeepalive::new()
                .with_time(TCP_KEEPALIVE_IDLE)
                .with_interval(TCP_KEEPALIVE_INTERVAL),
        )
        .set_user_timeout(TCP_USER_TIMEOUT)
}

/// A URL's connection details, with [`tcp_settings`].
pub fn connection_info(url: &str) -> Result<ConnectionInfo, StoreError> {
    Ok(url.into_connection_info()?.set_tcp_settings(tcp_settings()))
}

/// What a connection is for: on one server, single events share one multiplexed
/// connection and batches use the pool (see the module docs). A cluster has one
/// connection for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    Event,
    Batch,
}

// One per store, behind its Arc: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Single {
        /// Per-event commands. It connects on first use and reconnects by itself
        /// (one attempt per failed call, so a dead Redis fails calls quickly).
        shared: ConnectionManager,
        /// Batches.
        pool: Pool,
        /// For connections that cannot be shared or pooled (pub/sub, CONFIG).
        client: redis::Client,
    },
    Cluster(Cluster),
}

/// One multiplexed cluster connection, shared: redis-rs already keeps a
/// connection per node under it, so a pool of them would only multiply sockets
/// (and deadpool's cluster manager cannot set timeouts). Made on first use, so the
/// store opens while the cluster is down.
pub struct Cluster {
    client: ClusterClient,
    connection: OnceCell<ClusterConnection>,
    /// The seed URLs, for the subscriber's own client and for node addresses.
    pub urls: Vec<String>,
}

impl Backend {
    pub fn open(config: &RedisConfig) -> Result<Self, StoreError> {
        match config.mode {
            RedisMode::Single => {
                let info = connection_info(&config.url)?;
                let client = redis::Client::open(info.clone())?;
                let connection_config = AsyncConnectionConfig::new()
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_connection_timeout(Some(CONNECT_TIMEOUT));
                let manager = Manager::new_with_config(info, connection_config)?;
                let pool = Pool::builder(manager)
                    .max_size(config.pool_size)
                    .runtime(Runtime::Tokio1)
                    .wait_timeout(Some(CONNECT_TIMEOUT))
                    .create_timeout(Some(CONNECT_TIMEOUT))
                    .recycle_timeout(Some(CONNECT_TIMEOUT))
                    .build()
                    .map_err(|e| StoreError::PoolBuild(e.to_string()))?;
                let shared = ConnectionManager::new_lazy_with_config(
                    client.clone(),
                    ConnectionManagerConfig::new()
                        .set_response_timeout(Some(RESPONSE_TIMEOUT))
                        .set_connection_timeout(Some(CONNECT_TIMEOUT))
                        .set_number_of_retries(0),
                )?;
                Ok(Self::Single {
                    shared,
                    pool,
                    client,
                })
            }
            RedisMode::Cluster => {
                let urls: Vec<String> = config.urls().into_iter().map(str::to_owned).collect();
                let client = cluster_builder(&urls).build()?;
                Ok(Self::Cluster(Cluster {
                    client,
                    connection: OnceCell::new(),
                    urls,
                }))
            }
        }
    }

    pub async fn connection(&self, traffic: Traffic) -> Result<Conn, StoreError> {
        match self {
            Backend::Single { shared, .. } if traffic == Traffic::Event => {
                Ok(Conn::Shared(shared.clone()))
            }
            Backend::Single { pool, .. } => Ok(Conn::Pooled(pool.get().await?)),
            Backend::Cluster(cluster) => {
                let connection = cluster
                    .connection
                    .get_or_try_init(|| async {
                        tokio::time::timeout(CONNECT_TIMEOUT, cluster.client.get_async_connection())
                            .await
                            .map_err(|_| StoreError::ClusterTimeout)?
                            .map_err(StoreError::from)
                    })
                    .await?;
                Ok(Conn::Cluster(connection.clone()))
            }
        }
    }
}

/// A cluster client with our timeouts; `push` makes it RESP3 with a receiver of
/// pub/sub messages.
pub fn cluster_builder(urls: &[String]) -> ClusterClientBuilder {
    ClusterClientBuilder::new(urls.to_vec())
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT)
        .tcp_settings(tcp_settings())
}

/// A connection of any kind, usable wherever redis-rs wants one.
pub enum Conn {
    Shared(ConnectionManager),
    Pooled(deadpool_redis::Connection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Shared(conn) => conn.req_packed_command(cmd),
            Conn::Pooled(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Shared(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Pooled(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Shared(conn) => conn.get_db(),
            Conn::Pooled(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}
