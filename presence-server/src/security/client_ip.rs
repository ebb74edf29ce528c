//! Which address a client connects from, for the per-address cap.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

/// The client's address: the TCP peer, or — only when the peer is a trusted
/// proxy — the nearest untrusted address in `X-Forwarded-For`. Anyone can write
/// that header, so believing it from anyone else would let a client pick its own
/// address and escape the cap.
pub fn client_ip(parts: &Parts, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    client_address(&parts.extensions, &parts.headers, trusted_proxies)
}

/// Whether the request came through a trusted proxy, whose connection carries
/// many clients (so it does not count against one client's budget).
pub fn via_trusted_proxy(extensions: &Extensions, trusted_proxies: &[IpAddr]) -> bool {
    peer(extensions).is_some_and(|peer| trusted_proxies.contains(&peer))
}

/// [`client_ip`] of a request's extensions and headers.
pub fn client_address(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer(extensions)?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    // Walk from the right (nearest hop) past our own proxies.
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted_proxies.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // A garbled entry: stop believing the chain; count the proxy itself.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

/// The TCP peer, put in the extensions by the accept loop.
fn peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut request = Request::builder();
        if let Some(value) = forwarded {
            request = request.header("x-forwarded-for", value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(
            format!("{peer}:4000").parse::<SocketAddr>().unwrap(),
        ));
        parts
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted = [proxy];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            client_ip(&parts("10.0.0.5", Some("203.0.113.7")), &trusted),
            Some(ip("203.0.113.7"))
        );
        // A client prepending a fake address does not escape: the nearest hop counts.
        assert_eq!(
            client_ip(&parts("10.0.0.5", Some("1.2.3.4, 203.0.113.7")), &trusted),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client_ip(&parts("10.0.0.5", Some("203.0.113.7, 10.0.0.5")), &trusted),
            Some(ip("203.0.113.7"))
        );
        // From an untrusted peer the header is ignored.
        assert_eq!(
            client_ip(&parts("198.51.100.1", Some("1.2.3.4")), &trusted),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(
            client_ip(&parts("10.0.0.5", Some("garbage")), &trusted),
            Some(proxy)
        );
        assert_eq!(client_ip(&parts("10.0.0.5", None), &trusted), Some(proxy));
    }
}
