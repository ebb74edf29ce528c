//! The client's address as a handler argument.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use crate::security;

/// The address a request comes from (the forwarded client's behind a trusted
/// proxy); `None` when the server runs without connect info (in-process tests).
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self(security::client_ip(
            parts,
            &state.guard.trusted_proxies,
        )))
    }
}
