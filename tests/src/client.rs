//! A reader: one Socket.IO connection made with `rust_socketio`, remembering the
//! latest `viewers`/`views` per post and every `error` it was sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;

/// How long a reader waits for a count by default: the protocol promises updates
/// "within a second"; the margin is for a loaded 2-core CI machine.
pub const UPDATE_WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Seen {
    viewers: HashMap<String, u64>,
    views: HashMap<String, u64>,
    /// Every `viewers` message in order, to check counts never went wrong.
    history: Vec<(String, u64)>,
    /// `views` messages received: the server sends one only as the answer to a
    /// `viewing`, so this counts answers.
    answers: usize,
    errors: Vec<Value>,
    notices: Vec<Value>,
}

pub struct Reader {
    client: Client,
    seen: Arc<Mutex<Seen>>,
}

impl Reader {
    pub async fn connect(url: &str) -> Self {
        match Self::try_connect(url, &[]).await {
            Ok(reader) => reader,
            Err(error) => panic!("{error}"),
        }
    }

    /// Connects with extra HTTP headers (e.g. `X-Forwarded-For`); `Err` if the
    /// server refuses the connection or does not acknowledge it.
    pub async fn try_connect(url: &str, headers: &[(&str, &str)]) -> Result<Self, String> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let on_viewers = {
            let seen = seen.clone();
            move |payload: Payload, _: Client| {
                let seen = seen.clone();
                async move {
                    if let Some((post, count)) = post_and_number(&payload) {
                        let mut seen = seen.lock().unwrap();
                        // The third argument: the post's views, live.
                        if let Some(views) = third_number(&payload) {
                            seen.views.insert(post.clone(), views);
                        }
                        seen.viewers.insert(post.clone(), count);
                        seen.history.push((post, count));
                    }
                }
                .boxed()
            }
        };
        let on_views = {
            let seen = seen.clone();
            move |payload: Payload, _: Client| {
                let seen = seen.clone();
                async move {
                    if let Some((post, total)) = post_and_number(&payload) {
                        let mut seen = seen.lock().unwrap();
                        seen.views.insert(post, total);
                        seen.answers += 1;
                    }
                }
                .boxed()
            }
        };
        let on_error = {
            let seen = seen.clone();
            move |payload: Payload, _: Client| {
                let seen = seen.clone();
                async move {
                    if let Payload::Text(values) = payload {
                        seen.lock().unwrap().errors.extend(values);
                    }
                }
                .boxed()
            }
        };
        let on_notice = {
            let seen = seen.clone();
            move |payload: Payload, _: Client| {
                let seen = seen.clone();
                async move {
                    if let Payload::Text(values) = payload {
                        seen.lock().unwrap().notices.extend(values);
                    }
                }
                .boxed()
            }
        };
        let (connected, acknowledged) = tokio::sync::oneshot::channel::<()>();
        let connected = Arc::new(Mutex::new(Some(connected)));
        let on_connect = move |_: Payload, _: Client| {
            let connected = connected.clone();
            async move {
                if let Some(connected) = connected.lock().unwrap().take() {
                    let _ = connected.send(());
                }
            }
            .boxed()
        };
        // Websocket only, like the embed. (rust_socketio's polling-to-websocket
        // upgrade is its own, not what browsers do.)
        let mut builder = ClientBuilder::new(url);
        for (name, value) in headers {
            builder = builder.opening_header(*name, *value);
        }
        let client = builder
            .namespace("/")
            .transport_type(TransportType::Websocket)
            .reconnect(false)
            .on(Event::Connect, on_connect)
            .on("viewers", on_viewers)
            .on("views", on_views)
            .on("error", on_error)
            .on("notice", on_notice)
            .connect()
            .await
            .map_err(|e| format!("connect to {url}: {e}"))?;
        // Like the official client, send nothing before the server acknowledged the
        // namespace connection: socketioxide drops events that arrive earlier.
        match tokio::time::timeout(UPDATE_WAIT, acknowledged).await {
            Ok(Ok(())) => Ok(Self { client, seen }),
            _ => {
                let _ = client.disconnect().await;
                Err(format!("{url} did not acknowledge the connection"))
            }
        }
    }

    /// Connects and reads `post`, waiting for the server's answer.
    pub async fn viewing(url: &str, post: impl Into<Value>) -> Self {
        let reader = Self::connect(url).await;
        let post = post.into();
        reader.view(post.clone()).await;
        let key = post_key(&post);
        crate::eventually(
            &format!("an answer for post {key}"),
            UPDATE_WAIT,
            async || reader.count(&key),
        )
        .await;
        reader
    }

    /// Emits `viewing` with any payload, valid or not.
    pub async fn view(&self, payload: impl Into<Value>) {
        self.client
            .emit("viewing", Payload::Text(vec![payload.into()]))
            .await
            .expect("emit viewing");
    }

    /// Emits `watch` with a list of post ids: their counts, without being counted.
    pub async fn watch(&self, posts: &[&str]) {
        let list = posts.iter().map(|post| Value::from(*post)).collect();
        self.emit_raw("watch", vec![Value::Array(list)]).await;
    }

    /// Emits an event with raw arguments (for bad-input tests).
    pub async fn emit_raw(&self, event: &str, args: Vec<Value>) {
        self.client
            .emit(event, Payload::Text(args))
            .await
            .expect("emit");
    }

    /// The latest `viewers` count received for `post`.
    pub fn count(&self, post: &str) -> Option<u64> {
        self.seen.lock().unwrap().viewers.get(post).copied()
    }

    pub fn views(&self, post: &str) -> Option<u64> {
        self.seen.lock().unwrap().views.get(post).copied()
    }

    /// How many `viewing` events the server has answered.
    pub fn answers(&self) -> usize {
        self.seen.lock().unwrap().answers
    }

    pub fn history(&self) -> Vec<(String, u64)> {
        self.seen.lock().unwrap().history.clone()
    }

    /// Every `notice` received, in order.
    pub fn notices(&self) -> Vec<Value> {
        self.seen.lock().unwrap().notices.clone()
    }

    pub fn errors(&self) -> Vec<Value> {
        self.seen.lock().unwrap().errors.clone()
    }

    /// Waits until the latest count for `post` is `expected`.
    pub async fn wait_for_count(&self, post: &str, expected: u64) {
        let what = format!(
            "post {post} to show {expected} (last seen {:?})",
            self.count(post)
        );
        crate::eventually(&what, UPDATE_WAIT, async || {
            (self.count(post) == Some(expected)).then_some(())
        })
        .await;
    }

    pub async fn wait_for_error(&self) -> Value {
        crate::eventually("an error event", UPDATE_WAIT, async || {
            self.errors().last().cloned()
        })
        .await
    }

    /// Closes the connection cleanly (a Socket.IO disconnect packet).
    pub async fn leave(self) {
        let _ = self.client.disconnect().await;
    }
}

fn post_key(post: &Value) -> String {
    match post {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `(postId, n)` of a `viewers`/`views` message; `postId` must be a string.
/// `viewers` carries the post's views as a third argument.
fn post_and_number(payload: &Payload) -> Option<(String, u64)> {
    let Payload::Text(values) = payload else {
        return None;
    };
    match values.as_slice() {
        [Value::String(post), count] | [Value::String(post), count, _] => {
            Some((post.clone(), count.as_u64()?))
        }
        _ => None,
    }
}

/// The third argument of a `viewers` message, the post's views.
fn third_number(payload: &Payload) -> Option<u64> {
    let Payload::Text(values) = payload else {
        return None;
    };
    values.get(2)?.as_u64()
}
