//! What goes over the wire to Socket.IO clients: every event name, every room
//! name, and the helpers that emit them. docs/protocol.md describes the same.

use presence_core::notice::Notice;
use presence_core::{PostId, PostStats};
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

/// client → server: "this session reads post X" (a post id, or `{post, token}`).
pub const VIEWING: &str = "viewing";
/// client → server: "tell me the counts of these posts" (a list of post ids).
pub const WATCH: &str = "watch";
/// server → client: `(postId, readers, views)`. The 2015 client reads the first two.
pub const VIEWERS: &str = "viewers";
/// server → client: `(postId, views)`, to a reader when its reading is recorded.
/// Kept for clients older than the third argument of [`VIEWERS`].
pub const VIEWS: &str = "views";
/// server → client: `{error, message}`.
pub const ERROR: &str = "error";
/// server → client: a notice object (docs/notices.md).
pub const NOTICE: &str = "notice";

/// The room of a post's readers on this process.
pub fn reader_room(post: &PostId) -> String {
    format!("post:{post}")
}

/// The room of the sockets watching a post without reading it. Apart from the
/// readers' room, so reading and watching the same post never undo each other.
pub fn watcher_room(post: &PostId) -> String {
    format!("watch:{post}")
}

/// A post's figures as every client gets them. `postId` is always a string: the
/// 2015 client compares it with `===` against a string.
fn viewers_args(post: &PostId, counts: PostStats) -> (&str, u64, u64) {
    (post.as_str(), counts.viewers, counts.views)
}

/// Tells a reader its post's figures; false if the socket refused the emit (not
/// connected).
pub fn answer_reader(socket: &SocketRef, post: &PostId, counts: PostStats) -> bool {
    let told = socket.emit(VIEWERS, &viewers_args(post, counts)).is_ok();
    let _ = socket.emit(VIEWS, &(post.as_str(), counts.views));
    told
}

/// Tells a watcher a post's figures; false if the socket refused the emit.
pub fn answer_watcher(socket: &SocketRef, post: &PostId, counts: PostStats) -> bool {
    socket.emit(VIEWERS, &viewers_args(post, counts)).is_ok()
}

/// Pushes a post's figures to its readers and watchers on this process.
pub async fn push(io: &SocketIo, post: &PostId, counts: PostStats) {
    if let Err(error) = io
        .to([reader_room(post), watcher_room(post)])
        .emit(VIEWERS, &viewers_args(post, counts))
        .await
    {
        tracing::debug!(%post, %error, "push not delivered to every socket");
    }
}

/// Tells a client why an event was refused.
pub fn refuse(socket: &SocketRef, code: &str, message: &str) {
    tracing::debug!(code, message, "refused an event");
    let _ = socket.emit(ERROR, &json!({ "error": code, "message": message }));
}

/// Tells a reader the store did not answer; its reading is kept and recorded later.
pub fn unavailable(socket: &SocketRef) {
    refuse(
        socket,
        "unavailable",
        "counts are unavailable right now; your reading is kept and recorded when the store is back",
    );
}

/// Tells a watcher its counts could not be read now; they follow when they can.
pub fn unavailable_to_watcher(socket: &SocketRef) {
    refuse(
        socket,
        "unavailable",
        "counts are unavailable right now; they follow when the store is back",
    );
}

/// Delivers a notice to its post's readers, or to every socket.
pub async fn deliver_notice(io: &SocketIo, notice: &Notice) {
    let result = match &notice.post_id {
        Some(post) => io.to(reader_room(post)).emit(NOTICE, notice).await,
        None => io.emit(NOTICE, notice).await,
    };
    if let Err(error) = result {
        tracing::debug!(id = %notice.id, %error, "notice not delivered to every socket");
    }
}
