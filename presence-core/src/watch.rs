//! The payload of a `watch` event, parsed once at the edge: the posts a socket
//! wants live counts of without being counted (an archive page's badges).

use serde_json::Value;
use thiserror::Error;

use crate::error::IdError;
use crate::ids::PostId;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WatchError {
    #[error("watch takes an array of post ids")]
    NotAList,
    #[error("watch takes at most {max} post ids")]
    TooMany { max: usize },
    #[error("post id #{position} of the watch list: {error}")]
    BadId { position: usize, error: IdError },
}

impl WatchError {
    pub fn code(&self) -> &'static str {
        match self {
            WatchError::TooMany { .. } => "too_many_watched",
            WatchError::NotAList | WatchError::BadId { .. } => "bad_watch",
        }
    }
}

/// Parses a watch list: an array of at most `max` post ids, numbers or strings as
/// in `viewing`. Repeated ids count once; the order is kept. A list with one bad id
/// is refused whole, so a client never half-watches.
pub fn parse_watch_list(value: &Value, max: usize) -> Result<Vec<PostId>, WatchError> {
    let Value::Array(items) = value else {
        return Err(WatchError::NotAList);
    };
    if items.len() > max {
        return Err(WatchError::TooMany { max });
    }
    let mut posts: Vec<PostId> = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let post = PostId::from_json(item).map_err(|error| WatchError::BadId {
            position: position + 1,
            error,
        })?;
        if !posts.contains(&post) {
            posts.push(post);
        }
    }
    Ok(posts)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_list_of_numbers_and_strings_is_read_in_order_without_repeats() {
        let posts = parse_watch_list(&json!([13, "7", 13, "abc-1"]), 5).unwrap();
        let names: Vec<&str> = posts.iter().map(PostId::as_str).collect();
        assert_eq!(names, ["13", "7", "abc-1"]);
        assert!(parse_watch_list(&json!([]), 5).unwrap().is_empty());
    }

    #[test]
    fn anything_else_is_refused_whole_with_a_reason() {
        assert_eq!(parse_watch_list(&json!(13), 5), Err(WatchError::NotAList));
        assert_eq!(
            parse_watch_list(&json!({"posts": [1]}), 5),
            Err(WatchError::NotAList)
        );
        assert_eq!(
            parse_watch_list(&json!([1, 2, 3]), 2),
            Err(WatchError::TooMany { max: 2 })
        );
        let error = parse_watch_list(&json!([1, "a b", 3]), 5).unwrap_err();
        assert!(matches!(error, WatchError::BadId { position: 2, .. }));
        assert_eq!(error.code(), "bad_watch");
        assert!(parse_watch_list(&json!([1, null]), 5).is_err());
        assert!(parse_watch_list(&json!([0]), 5).is_err());
        assert!(parse_watch_list(&json!([[1]]), 5).is_err());
    }
}
