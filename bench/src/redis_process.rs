//! A private `redis-server` on a free loopback port, killed when dropped, for the
//! benchmarks that talk to Redis directly (`sweep`, `joins`).

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
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
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

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
