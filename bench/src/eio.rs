//! The few Engine.IO v4 / Socket.IO v5 text frames the load generator needs.
//!
//! Parsing is deliberately shallow: thousands of clients share two cores with the
//! server under test, so we look at prefixes and only decode the events we count.

/// What one websocket text frame from the server means to a client.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    /// Engine.IO `0{…}`: the transport is open; answer with a namespace CONNECT.
    Open,
    /// Engine.IO `2`: must be answered with `3` within the ping timeout.
    Ping,
    /// Socket.IO `40{…}`: the namespace accepted us; only now may we emit.
    ConnectAck,
    /// `42["viewers", postId, count, views]` (servers before live views sent no
    /// `views` argument; both forms are read, so old and new builds can be compared).
    Viewers(&'a str, u64),
    /// `42["views", postId, total]`: the direct answer to `viewing`, sent right
    /// after the sender's own `viewers`.
    Views(&'a str, u64),
    /// Anything else (errors, other events, Engine.IO noops).
    Other,
}

pub const PONG: &str = "3";
pub const CONNECT: &str = "40";

/// `42["viewing","<post>"]`.
pub fn viewing(post: &str) -> String {
    format!("42[\"viewing\",\"{post}\"]")
}

pub fn parse(text: &str) -> Frame<'_> {
    if let Some(event) = text.strip_prefix("42") {
        return parse_event(event).unwrap_or(Frame::Other);
    }
    match text.as_bytes() {
        [b'2'] => Frame::Ping,
        [b'0', ..] => Frame::Open,
        [b'4', b'0', ..] => Frame::ConnectAck,
        _ => Frame::Other,
    }
}

/// The Socket.IO session id in a namespace ack, `40{"sid":"…"}`.
pub fn ack_sid(ack: &str) -> Option<&str> {
    let rest = ack.split_once("\"sid\":\"")?.1;
    Some(rest.split_once('"')?.0)
}

fn parse_event(event: &str) -> Option<Frame<'_>> {
    let (name, post, count) = serde_json::from_str::<(&str, &str, u64, u64)>(event)
        .map(|(name, post, count, _views)| (name, post, count))
        .or_else(|_| serde_json::from_str::<(&str, &str, u64)>(event))
        .ok()?;
    match name {
        "viewers" => Some(Frame::Viewers(post, count)),
        "views" => Some(Frame::Views(post, count)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_frames_we_use() {
        assert_eq!(parse("0{\"sid\":\"x\"}"), Frame::Open);
        assert_eq!(parse("2"), Frame::Ping);
        assert_eq!(parse("40{\"sid\":\"y\"}"), Frame::ConnectAck);
        assert_eq!(ack_sid("40{\"sid\":\"y_Z-1\"}"), Some("y_Z-1"));
        assert_eq!(parse("42[\"viewers\",\"13\",5]"), Frame::Viewers("13", 5));
        assert_eq!(
            parse("42[\"viewers\",\"13\",5,120]"),
            Frame::Viewers("13", 5)
        );
        assert_eq!(parse("42[\"views\",\"13\",120]"), Frame::Views("13", 120));
        assert_eq!(parse("42[\"error\",{}]"), Frame::Other);
        assert_eq!(viewing("7"), "42[\"viewing\",\"7\"]");
    }
}
