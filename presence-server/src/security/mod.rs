//! Defences against hostile clients: origin allowlist, per-address connection cap,
//! per-socket rate and post limits, signed views. See docs/security.md.

mod client_ip;
mod connections;
mod files;
mod guesses;
mod origin;

use std::net::IpAddr;
use std::sync::Arc;

use presence_core::config::SecurityConfig;
use presence_core::origin::OriginPolicy;
use presence_core::signing::{self, TokenError, unix_now};
use presence_core::viewing::ViewingRequest;

pub use self::client_ip::{client_address, client_ip, via_trusted_proxy};
pub use self::connections::{AddressBudget, Lease};
pub use self::files::{Files, OpenFile, Room};
pub use self::guesses::WrongGuesses;
pub use self::origin::{cors, refuse_foreign_origins};
use crate::metrics::Metrics;

/// Everything the handlers need to enforce the security settings.
pub struct Guard {
    pub origins: OriginPolicy,
    pub trusted_proxies: Vec<IpAddr>,
    /// What each client address may hold open (`security.max_connections_per_ip`).
    pub budget: AddressBudget,
    pub viewing_per_second: u32,
    /// Wrong notices and dashboard tokens per address.
    pub wrong_guesses: WrongGuesses,
    view_secret: String,
    require_signed_views: bool,
    metrics: Arc<Metrics>,
}

impl Guard {
    pub fn new(config: &SecurityConfig, metrics: Arc<Metrics>) -> Self {
        let origins = OriginPolicy::new(&config.allowed_origins);
        if origins.allows_any() {
            tracing::warn!(
                "security.allowed_origins is empty: any web site may connect and read counts; \
                 set it to your sites' origins in production"
            );
        }
        Self {
            origins,
            trusted_proxies: config.trusted_proxies.clone(),
            budget: AddressBudget::new(config.max_connections_per_ip),
            viewing_per_second: config.viewing_per_second,
            wrong_guesses: WrongGuesses::default(),
            view_secret: config.view_secret.clone(),
            require_signed_views: config.require_signed_views,
            metrics,
        }
    }

    /// Counts a refusal by `limit`.
    pub fn refused(&self, limit: &'static str) {
        self.metrics.refused(limit);
    }

    /// Checks a view's token: required when `require_signed_views`, verified
    /// whenever a secret is configured and a token is given.
    pub fn check_token(&self, request: &ViewingRequest) -> Result<(), TokenError> {
        if self.view_secret.is_empty() {
            return Ok(());
        }
        match &request.token {
            None if self.require_signed_views => Err(TokenError::Missing),
            None => Ok(()),
            Some(token) => signing::verify(&self.view_secret, &request.post, token, unix_now()),
        }
    }
}
