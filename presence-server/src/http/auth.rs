//! The token-protected endpoints (notices, dashboard) read credentials here: one
//! reading of the `Authorization` header, one constant-time comparison, and the
//! per-address limit on wrong guesses (`security::WrongGuesses`).

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use super::AppState;

/// Why a request was not let through.
#[derive(Debug)]
pub enum Denied {
    /// Missing or wrong credentials.
    Wrong,
    /// The address guessed wrong too often; it may try again after this long.
    Locked(Duration),
}

/// The secret an `Authorization` header carries: a bearer token, or the password
/// of basic auth (any user name). Schemes are case-insensitive (RFC 9110 §11.1).
pub fn credential(headers: &HeaderMap) -> Option<Vec<u8>> {
    let header = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.as_bytes().to_vec());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(value).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    bool::from(given.ct_eq(expected))
}

/// Lets the request through if `accept` takes its credential, unless its address
/// is locked out; a refused credential counts against the address. Both refusals
/// are counted in `presence_limited_total`: `auth` for a lock-out, `limit` (the
/// caller's name for the endpoint) for a wrong token.
pub fn authorize(
    state: &AppState,
    client: Option<IpAddr>,
    headers: &HeaderMap,
    limit: &'static str,
    accept: impl FnOnce(&[u8]) -> bool,
) -> Result<(), Denied> {
    let guesses = &state.guard.wrong_guesses;
    if let Some(wait) = client.and_then(|ip| guesses.locked(ip)) {
        state.metrics.refused("auth");
        return Err(Denied::Locked(wait));
    }
    if credential(headers).is_some_and(|given| accept(&given)) {
        return Ok(());
    }
    state.metrics.refused(limit);
    if let Some(ip) = client {
        guesses.wrong(ip);
    }
    Err(Denied::Wrong)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_secret_is_a_bearer_token_or_a_basic_auth_password() {
        for bearer in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert_eq!(
                credential(&with(bearer)).as_deref(),
                Some(&b"abc"[..]),
                "{bearer}"
            );
        }
        let basic = format!("basic {}", STANDARD.encode("editor:s3cret:with:colons"));
        assert_eq!(
            credential(&with(&basic)).as_deref(),
            Some(&b"s3cret:with:colons"[..])
        );
        assert_eq!(credential(&with("Basic !!!")), None);
        assert_eq!(
            credential(&with(&format!("Basic {}", STANDARD.encode("nocolon")))),
            None
        );
        assert_eq!(credential(&with("Digest x")), None);
        assert_eq!(credential(&with("Bearer")), None);
        assert_eq!(credential(&HeaderMap::new()), None);
    }
}
