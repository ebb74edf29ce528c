//! Copies a Socket.IO request's head out of hyper's read buffer.
//!
//! hyper parses a request's URI and header values as slices of the connection's
//! read buffer (16 KiB), without copying, and axum adds a clone of that URI
//! (`OriginalUri`) to the request's extensions. engineioxide keeps the request's
//! `Parts`, extensions included, for the whole life of the socket
//! (`SocketRef::req_parts`), so every open socket keeps that whole buffer alive for
//! the few hundred bytes of its head: measured with heaptrack, 16 KiB of heap per
//! idle websocket (about 8 KiB of it resident; BENCHMARKS.md). Copying the URI and
//! the header values into allocations of their own lets the buffer go as soon as
//! hyper is done with it. Only the request that opens a session is kept, and only
//! it is copied: one small allocation per header, once per connection.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderValue, Uri};

/// Where Socket.IO (and Engine.IO) requests arrive; everything else is left as is.
const SOCKET_IO_PATH: &str = "/socket.io";

/// A request whose URI and header values own their bytes, if it opens an
/// Engine.IO session (no `sid` yet: engineioxide keeps this one request's parts).
/// Every other request is returned untouched: its parts die with its response.
pub async fn detach_socket_request(request: Request) -> Request {
    if opens_a_session(request.uri()) {
        detach(request)
    } else {
        request
    }
}

/// Whether a request opens an Engine.IO session (no `sid` yet).
pub fn opens_a_session(uri: &Uri) -> bool {
    uri.path().starts_with(SOCKET_IO_PATH)
        && !uri
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|pair| pair.starts_with("sid="))
}

/// Copies `request`'s URI (and axum's copy of it) and header values; everything
/// else is moved.
pub fn detach(mut request: Request) -> Request {
    // Parsing our own rendering of a URI that already parsed cannot fail; if it
    // ever did, the shared one is kept (it only costs memory).
    if let Ok(uri) = Uri::try_from(request.uri().to_string()) {
        *request.uri_mut() = uri;
    }
    if let Some(OriginalUri(original)) = request.extensions_mut().get_mut::<OriginalUri>()
        && let Ok(uri) = Uri::try_from(original.to_string())
    {
        *original = uri;
    }
    let shared = std::mem::take(request.headers_mut());
    let mut owned = HeaderMap::with_capacity(shared.len());
    let mut last_name = None;
    for (name, value) in shared {
        // `HeaderMap`'s iterator names a header once, then `None` for its
        // further values.
        if let Some(name) = name {
            last_name = Some(name);
        }
        if let Some(name) = &last_name {
            owned.append(name.clone(), copy(&value));
        }
    }
    *request.headers_mut() = owned;
    request
}

/// A header value with bytes of its own (`from_bytes` copies; the bytes were
/// valid for the shared value, so they are for the copy).
fn copy(value: &HeaderValue) -> HeaderValue {
    let mut copied = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
    copied.set_sensitive(value.is_sensitive());
    copied
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::header::{COOKIE, HOST};

    use super::*;

    #[test]
    fn only_requests_that_open_a_session_are_copied() {
        let opens = |uri: &str| opens_a_session(&uri.parse().expect("a valid URI"));
        assert!(opens("/socket.io/?EIO=4&transport=websocket"));
        assert!(opens("/socket.io/?EIO=4&transport=polling&t=abc"));
        assert!(!opens("/socket.io/?EIO=4&transport=polling&sid=abc"));
        assert!(!opens("/socket.io/?EIO=4&transport=websocket&sid=abc"));
        assert!(!opens("/api/posts/13"));
    }

    #[test]
    fn detached_request_keeps_every_header_and_the_uri() {
        let request = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header(HOST, "127.0.0.1:3000")
            .header(COOKIE, "a=1")
            .header(COOKIE, "b=2")
            .header("x-forwarded-for", "10.0.0.1, 10.0.0.2")
            .body(Body::empty())
            .expect("a valid request");
        let before = request.headers().clone();
        let uri = request.uri().clone();
        let after = detach(request);
        assert_eq!(after.uri(), &uri);
        assert_eq!(after.headers(), &before);
        assert_eq!(
            after.headers().get_all(COOKIE).iter().collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
    }
}
