//! Notices: short messages a site pushes to the readers of one post, or of the
//! whole site ("This post was updated — reload", a correction, a live-blog line).
//!
//! They arrive over HTTP or on a Redis channel; both paths parse and validate with
//! [`NoticeRequest::parse`], so a producer cannot send through Redis what the API
//! would refuse.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::ids::PostId;

/// Largest request body accepted, in bytes: 280 characters of text and a URL fit
/// with room to spare.
pub const MAX_BODY_BYTES: usize = 4096;
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// The post changed; readers are offered a reload.
    Updated,
    /// A free text message.
    Text,
}

/// A notice as delivered to readers (the `notice` event's argument).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique per notice, so a client shows each at most once.
    pub id: String,
    pub kind: NoticeKind,
    pub text: Option<String>,
    pub url: Option<String>,
    /// The post whose readers get it; `None` for everyone on the site.
    pub post_id: Option<PostId>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NoticeError {
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body is not a JSON object: {0}")]
    NotJson(String),
    #[error("unknown field {0:?}; allowed: kind, text, url (and post_id on the Redis channel)")]
    UnknownField(String),
    #[error("kind must be \"updated\" or \"text\"")]
    BadKind,
    #[error("a \"text\" notice needs a text")]
    MissingText,
    #[error("text must be a string of 1 to {0} characters without control characters")]
    BadText(usize),
    #[error("url must be an absolute http:// or https:// URL of at most {MAX_URL_LEN} characters")]
    BadUrl,
    #[error("post_id: {0}")]
    BadPost(#[from] crate::error::IdError),
}

/// A validated notice before it gets its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeRequest {
    pub kind: NoticeKind,
    pub text: Option<String>,
    pub url: Option<String>,
    pub post_id: Option<PostId>,
}

impl NoticeRequest {
    /// Parses a body. `allow_post_id` is true for the Redis channel, where the
    /// target travels in the message; over HTTP it is in the path.
    pub fn parse(
        body: &[u8],
        max_text_chars: usize,
        allow_post_id: bool,
    ) -> Result<Self, NoticeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(NoticeError::TooLarge);
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| NoticeError::NotJson(e.to_string()))?;
        let Value::Object(fields) = value else {
            return Err(NoticeError::NotJson("expected an object".into()));
        };
        let allowed: &[&str] = if allow_post_id {
            &["kind", "text", "url", "post_id"]
        } else {
            &["kind", "text", "url"]
        };
        if let Some(unknown) = fields.keys().find(|key| !allowed.contains(&key.as_str())) {
            return Err(NoticeError::UnknownField(unknown.clone()));
        }
        let kind = match fields.get("kind").and_then(Value::as_str) {
            Some("updated") => NoticeKind::Updated,
            Some("text") => NoticeKind::Text,
            _ => return Err(NoticeError::BadKind),
        };
        let text = match fields.get("text") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if valid_text(text, max_text_chars) => Some(text.clone()),
            Some(_) => return Err(NoticeError::BadText(max_text_chars)),
        };
        if kind == NoticeKind::Text && text.is_none() {
            return Err(NoticeError::MissingText);
        }
        let url = match fields.get("url") {
            None | Some(Value::Null) => None,
            Some(Value::String(url)) => Some(web_link(url).ok_or(NoticeError::BadUrl)?),
            Some(_) => return Err(NoticeError::BadUrl),
        };
        let post_id = match fields.get("post_id") {
            None | Some(Value::Null) => None,
            Some(value) => Some(PostId::from_json(value)?),
        };
        Ok(Self {
            kind,
            text,
            url,
            post_id,
        })
    }

    pub fn into_notice(self, id: String, post_id: Option<PostId>) -> Notice {
        Notice {
            id,
            kind: self.kind,
            text: self.text,
            url: self.url,
            post_id: post_id.or(self.post_id),
        }
    }
}

fn valid_text(text: &str, max_chars: usize) -> bool {
    let chars = text.chars().count();
    (1..=max_chars).contains(&chars) && !text.chars().any(char::is_control)
}

/// `url` as a link readers may follow: an absolute http(s) URL with a host, in
/// its normal form (what is not allowed in a URL is percent-encoded, so nothing in
/// it can break out of an attribute).
fn web_link(url: &str) -> Option<String> {
    if url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    let web = matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some();
    (web && parsed.as_str().len() <= MAX_URL_LEN).then(|| parsed.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_bodies() {
        let ok = NoticeRequest::parse(br#"{"kind":"updated"}"#, 280, false).unwrap();
        assert_eq!(
            (ok.kind, ok.text, ok.url),
            (NoticeKind::Updated, None, None)
        );
        let text = NoticeRequest::parse(
            br#"{"kind":"text","text":"Live: the vote started","url":"https://example.com/live"}"#,
            280,
            false,
        )
        .unwrap();
        assert_eq!(text.url.as_deref(), Some("https://example.com/live"));
        let quoted = NoticeRequest::parse(
            br#"{"kind":"updated","url":"https://example.com/a\"b<c>"}"#,
            280,
            false,
        )
        .unwrap();
        assert_eq!(
            quoted.url.as_deref(),
            Some("https://example.com/a%22b%3Cc%3E"),
            "kept in normal form"
        );
        let from_redis =
            NoticeRequest::parse(br#"{"kind":"updated","post_id":"13"}"#, 280, true).unwrap();
        assert_eq!(from_redis.post_id.map(|p| p.to_string()), Some("13".into()));

        let long = format!(r#"{{"kind":"text","text":"{}"}}"#, "x".repeat(281));
        let cases: Vec<(&[u8], NoticeError)> = vec![
            (
                b"",
                NoticeError::NotJson("EOF while parsing a value at line 1 column 0".into()),
            ),
            (b"[1]", NoticeError::NotJson("expected an object".into())),
            (br#"{"kind":"shout"}"#, NoticeError::BadKind),
            (br#"{"kind":"text"}"#, NoticeError::MissingText),
            (br#"{"kind":"text","text":""}"#, NoticeError::BadText(280)),
            (
                br#"{"kind":"text","text":"a\u0007b"}"#,
                NoticeError::BadText(280),
            ),
            (long.as_bytes(), NoticeError::BadText(280)),
            (
                br#"{"kind":"updated","url":"javascript:alert(1)"}"#,
                NoticeError::BadUrl,
            ),
            (
                br#"{"kind":"updated","url":"https://"}"#,
                NoticeError::BadUrl,
            ),
            (
                br#"{"kind":"updated","url":"/relative"}"#,
                NoticeError::BadUrl,
            ),
            (
                br#"{"kind":"updated","url":"https://exa mple.com/"}"#,
                NoticeError::BadUrl,
            ),
            (
                br#"{"kind":"updated","url":"ftp://example.com/"}"#,
                NoticeError::BadUrl,
            ),
            (
                br#"{"kind":"updated","post_id":"13"}"#,
                NoticeError::UnknownField("post_id".into()),
            ),
            (
                br#"{"kind":"updated","extra":1}"#,
                NoticeError::UnknownField("extra".into()),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                NoticeRequest::parse(body, 280, false),
                Err(expected),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            NoticeRequest::parse(&huge, 280, false),
            Err(NoticeError::TooLarge)
        );
    }
}
