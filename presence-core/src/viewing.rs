//! The payload of a `viewing` event, parsed once at the edge.
//!
//! Accepted: a post id (number or string, as the 2015 client sends), or
//! `{"post": <id>, "token": "<signed view token>"}` (see [`crate::signing`]).

use serde_json::Value;
use thiserror::Error;

use crate::error::IdError;
use crate::ids::PostId;
use crate::signing::TokenError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewingRequest {
    pub post: PostId,
    pub token: Option<String>,
}

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ViewingError {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("viewing takes a post id, or an object with \"post\" and \"token\" and nothing else")]
    BadShape,
}

impl ViewingError {
    pub fn code(&self) -> &'static str {
        match self {
            ViewingError::Id(error) => error.code(),
            ViewingError::Token(error) => error.code(),
            ViewingError::BadShape => "invalid_viewing",
        }
    }
}

impl ViewingRequest {
    pub fn from_json(value: &Value) -> Result<Self, ViewingError> {
        let Value::Object(fields) = value else {
            return Ok(Self {
                post: PostId::from_json(value)?,
                token: None,
            });
        };
        if fields.keys().any(|key| key != "post" && key != "token") {
            return Err(ViewingError::BadShape);
        }
        let post = PostId::from_json(fields.get("post").unwrap_or(&Value::Null))?;
        let token = match fields.get("token") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(token.clone()),
            Some(_) => return Err(TokenError::Malformed.into()),
        };
        Ok(Self { post, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn plain_and_signed_forms() {
        let plain = ViewingRequest::from_json(&json!(13)).unwrap();
        assert_eq!((plain.post.as_str(), plain.token), ("13", None));
        let signed = ViewingRequest::from_json(&json!({"post": "13", "token": "1.ab"})).unwrap();
        assert_eq!(signed.token.as_deref(), Some("1.ab"));
        assert_eq!(
            ViewingRequest::from_json(&json!({"post": 13, "extra": 1})),
            Err(ViewingError::BadShape)
        );
        assert!(ViewingRequest::from_json(&json!({"token": "x"})).is_err());
        assert!(ViewingRequest::from_json(&json!({"post": 13, "token": 5})).is_err());
    }

    /// Arbitrary JSON, nested a few levels, with strings drawn to hit the edges
    /// of the id rules.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "[A-Za-z0-9_:* -]{0,70}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("post|token|[a-z]{1,5}", inner, 0..3)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// The whole parsing path never panics, and whatever it accepts is a
        /// valid id that survives the round trip through its text form.
        #[test]
        fn parsing_never_panics_and_accepts_only_valid_ids(value in any_json()) {
            if let Ok(request) = ViewingRequest::from_json(&value) {
                let id = request.post.as_str();
                prop_assert!(!id.is_empty() && id.len() <= 64);
                prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
                prop_assert_eq!(PostId::parse(id), Ok(request.post.clone()));
                if let Some(token) = &request.token {
                    // Verification of arbitrary tokens never panics either.
                    let _ = crate::signing::verify("0123456789abcdef", &request.post, token, 0);
                }
            }
        }

        #[test]
        fn any_string_either_parses_or_is_refused(raw in any::<String>()) {
            let _ = PostId::parse(&raw);
            let _ = crate::signing::verify("0123456789abcdef", &PostId::parse("13").unwrap(), &raw, 0);
        }
    }
}
