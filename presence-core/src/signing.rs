//! Signed views: proof that the site itself put a post on a page.
//!
//! Anyone can open a socket and say `viewing 12345`; with
//! `security.require_signed_views`, only views that carry a token made by the site
//! (the WordPress plugin, with the shared `security.view_secret`) count, so nobody
//! can make arbitrary post ids look busy.
//!
//! Token: `<expiry unix seconds>.<lowercase hex HMAC-SHA256(secret, "<post>.<expiry>")>`.
//!
//! Notice tokens have the same shape and are signed with `notices.token` over
//! `"notice.<post>.<expiry>"`: the WordPress plugin hands one to an editor's browser,
//! which sends the post's notice itself after a save, so WordPress never waits on
//! presence-server. The prefix keeps a view token from ever passing as a notice token
//! even if a site used one secret for both. They are short-lived: an expiry further
//! than [`MAX_NOTICE_TOKEN_SECS`] ahead is refused, so a leaked one is worth little.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::ids::PostId;

type HmacSha256 = Hmac<Sha256>;

/// Longest token accepted: 20 digits, a dot, 64 hex digits, with room to spare.
const MAX_TOKEN_LEN: usize = 96;

/// How far ahead a notice token may expire.
pub const MAX_NOTICE_TOKEN_SECS: u64 = 3600;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    #[error("this site requires signed views; the token is missing")]
    Missing,
    #[error("the view token is malformed")]
    Malformed,
    #[error("the view token has expired")]
    Expired,
    #[error("the view token does not match this post")]
    BadSignature,
    #[error("the token expires too far ahead")]
    TooLong,
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_required",
            _ => "invalid_token",
        }
    }
}

/// The token for `post`, valid until `expiry` (unix seconds).
pub fn sign(secret: &str, post: &PostId, expiry: u64) -> String {
    sign_message(secret, &view_message(post, expiry), expiry)
}

/// Checks `token` for `post` at time `now` (unix seconds), in constant time.
pub fn verify(secret: &str, post: &PostId, token: &str, now: u64) -> Result<(), TokenError> {
    let expiry = verify_message(secret, token, |expiry| view_message(post, expiry))?;
    if expiry < now {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// A notice token for `post`, valid until `expiry` (unix seconds).
pub fn sign_notice(secret: &str, post: &PostId, expiry: u64) -> String {
    sign_message(secret, &notice_message(post, expiry), expiry)
}

/// Checks a notice token for `post` at `now`: signed, not expired, and not valid for
/// longer than [`MAX_NOTICE_TOKEN_SECS`].
pub fn verify_notice(secret: &str, post: &PostId, token: &str, now: u64) -> Result<(), TokenError> {
    let expiry = verify_message(secret, token, |expiry| notice_message(post, expiry))?;
    if expiry < now {
        return Err(TokenError::Expired);
    }
    if expiry > now.saturating_add(MAX_NOTICE_TOKEN_SECS) {
        return Err(TokenError::TooLong);
    }
    Ok(())
}

fn view_message(post: &PostId, expiry: u64) -> String {
    format!("{post}.{expiry}")
}

fn notice_message(post: &PostId, expiry: u64) -> String {
    format!("notice.{post}.{expiry}")
}

fn sign_message(secret: &str, message: &str, expiry: u64) -> String {
    let mut mac = mac(secret);
    mac.update(message.as_bytes());
    format!("{expiry}.{}", hex::encode(mac.finalize().into_bytes()))
}

/// The expiry of a well-formed `token` whose signature over `message(expiry)`
/// matches, compared in constant time.
fn verify_message(
    secret: &str,
    token: &str,
    message: impl FnOnce(u64) -> String,
) -> Result<u64, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let (expiry, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
    if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::Malformed);
    }
    let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
    let signature = hex::decode(signature).map_err(|_| TokenError::Malformed)?;
    let mut mac = mac(secret);
    mac.update(message(expiry).as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    Ok(expiry)
}

/// Seconds since the Unix epoch: the clock tokens' expiries are read against.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn mac(secret: &str) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret";

    #[test]
    fn matches_the_php_test_vector() {
        // embed/wordpress/tests/sign-view-vector.php computes the same.
        let post = PostId::parse("13").unwrap();
        assert_eq!(
            sign(SECRET, &post, 1_767_225_600),
            "1767225600.30f5dc30535984a70220aa8216499f8930438b8c23aaaf355302f2beb6739fd5"
        );
    }

    #[test]
    fn valid_tampered_expired_and_foreign_tokens() {
        let post = PostId::parse("13").unwrap();
        let token = sign(SECRET, &post, 2_000);
        assert_eq!(verify(SECRET, &post, &token, 1_000), Ok(()));
        assert_eq!(
            verify(SECRET, &post, &token, 2_001),
            Err(TokenError::Expired)
        );
        let other = PostId::parse("14").unwrap();
        assert_eq!(
            verify(SECRET, &other, &token, 1_000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify("other secret", &post, &token, 1_000),
            Err(TokenError::BadSignature)
        );
        let longer = token.replacen("2000.", "2999.", 1);
        assert_eq!(
            verify(SECRET, &post, &longer, 1_000),
            Err(TokenError::BadSignature)
        );
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            verify(SECRET, &post, &flipped, 1_000),
            Err(TokenError::BadSignature)
        );
        for bad in [
            "",
            ".",
            "abc.def",
            "2000.zz",
            "2000",
            "-1.00",
            &"9".repeat(200),
        ] {
            assert_eq!(
                verify(SECRET, &post, bad, 1_000),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn notice_tokens_are_short_lived_and_never_view_tokens() {
        let post = PostId::parse("13").unwrap();
        let now = 1_000_000;
        let token = sign_notice(SECRET, &post, now + 600);
        assert_eq!(verify_notice(SECRET, &post, &token, now), Ok(()));
        assert_eq!(
            verify_notice(SECRET, &post, &token, now + 601),
            Err(TokenError::Expired)
        );
        let other = PostId::parse("14").unwrap();
        assert_eq!(
            verify_notice(SECRET, &other, &token, now),
            Err(TokenError::BadSignature)
        );
        let long = sign_notice(SECRET, &post, now + MAX_NOTICE_TOKEN_SECS + 1);
        assert_eq!(
            verify_notice(SECRET, &post, &long, now),
            Err(TokenError::TooLong)
        );
        // One secret for both must not let a view token send notices, or back.
        let view = sign(SECRET, &post, now + 600);
        assert_eq!(
            verify_notice(SECRET, &post, &view, now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, &post, &token, now),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn notice_token_matches_a_vector_computed_independently() {
        // printf 'notice.13.1767225600' | openssl dgst -sha256 -hmac s3cret
        let post = PostId::parse("13").unwrap();
        assert_eq!(
            sign_notice(SECRET, &post, 1_767_225_600),
            format!("1767225600.{}", NOTICE_VECTOR)
        );
    }

    const NOTICE_VECTOR: &str = "8465cf8395fd1fccaf43796b33c8099dfa4c9eb962c6a7fa0a384bb319e28f46";
}
