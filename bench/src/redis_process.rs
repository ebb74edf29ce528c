//! A private `redis-server` on a free loopback port (or a private Redis Cluster of
//! several), killed when dropped, for the benchmarks that talk to Redis directly
//! (`sweep`, `joins`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub struct RedisProcess {
    child: Child,
    pub url: String,
}

impl RedisProcess {
    /// Starts it (no persistence) and waits until it answers.
    pub async fn start() -> anyhow::Result<(Self, redis::aio::MultiplexedConnection)> {
        Self::start_with(&[]).await
    }

    async fn start_with(
        extra: &[&str],
    ) -> anyhow::Result<(Self, redis::aio::MultiplexedConnection)> {
        // Below 55536: a cluster node's bus listens on port + 10000.
        let port = loop {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            if port < 55_536 {
                break port;
            }
        };
        let dir = std::env::temp_dir().join(format!("presence-bench-redis-{port}"));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .context("start redis-server")?;
        let redis = Self {
            child,
            url: format!("redis://127.0.0.1:{port}/0"),
        };
        let client = redis::Client::open(redis.url.as_str())?;
        let started = Instant::now();
        loop {
            if let Ok(conn) = client.get_multiplexed_async_connection().await {
                return Ok((redis, conn));
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("redis-server did not start");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A private Redis Cluster of `masters` masters (no replicas).
pub struct RedisClusterProcess {
    pub nodes: Vec<RedisProcess>,
    /// Seed URLs, comma-separated, as `redis.url` takes them.
    pub url: String,
}

impl RedisClusterProcess {
    pub async fn start(masters: usize) -> anyhow::Result<Self> {
        let mut nodes = Vec::new();
        for _ in 0..masters {
            let (node, _) = RedisProcess::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .await?;
            nodes.push(node);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| {
                node.url
                    .trim_start_matches("redis://")
                    .trim_end_matches("/0")
                    .to_owned()
            })
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .context("run redis-cli --cluster create")?;
        if !created.success() {
            bail!("redis-cli --cluster create failed");
        }
        let started = Instant::now();
        loop {
            let info = Command::new("redis-cli")
                .args(["-u", &nodes[0].url, "CLUSTER", "INFO"])
                .output()?;
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("the cluster did not become ok");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = addresses
            .iter()
            .map(|address| format!("redis://{address}"))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self { nodes, url })
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
