//! presence-server in-process: `run` on a port-0 listener, stopped on drop.

use std::net::SocketAddr;

use presence_core::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Starts a server with `config` (its `server.listen` is ignored: port 0).
pub async fn spawn_server(config: Config) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind test server");
    let address = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        presence_server::run(listener, config, shutdown)
            .await
            .expect("server failed");
    });
    TestServer {
        address,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Shuts down gracefully and waits until it has.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A config for tests: memory store unless `redis_url` is given.
pub fn test_config(redis_url: Option<&str>) -> Config {
    let mut config = Config::default();
    if let Some(url) = redis_url {
        config.redis.url = url.to_owned();
    }
    config
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
