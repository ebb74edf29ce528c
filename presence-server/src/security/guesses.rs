//! A limit on wrong tokens per client address, so the notices and dashboard tokens
//! cannot be guessed at network speed.
//!
//! Only wrong guesses count: the dashboard polls with its token every two seconds
//! and must never be limited for being right. Once an address has used up its
//! guesses, every attempt from it is refused until its window ends, right or wrong,
//! or a guesser would simply go on until one of its attempts is let through.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Wrong tokens an address may send per [`WINDOW`].
pub const WRONG_GUESSES: u32 = 10;
/// How long an address's wrong guesses are remembered.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most. Windows that ended are dropped first; beyond this
/// (a guessing botnet), new addresses are not tracked and get plain 401s.
const MAX_ADDRESSES: usize = 65_536;

#[derive(Default)]
pub struct WrongGuesses {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

struct Window {
    started: Instant,
    wrong: u32,
}

impl WrongGuesses {
    /// How long `ip` must wait before it may try again, if it has used up its
    /// wrong guesses.
    pub fn locked(&self, ip: IpAddr) -> Option<Duration> {
        let windows = self.windows.lock();
        let window = windows.get(&ip)?;
        let left = WINDOW.checked_sub(window.started.elapsed())?;
        (window.wrong >= WRONG_GUESSES).then_some(left)
    }

    /// Counts a wrong guess from `ip`.
    pub fn wrong(&self, ip: IpAddr) {
        let mut windows = self.windows.lock();
        let now = Instant::now();
        if windows.len() >= MAX_ADDRESSES && !windows.contains_key(&ip) {
            windows.retain(|_, window| now.duration_since(window.started) < WINDOW);
            if windows.len() >= MAX_ADDRESSES {
                return;
            }
        }
        let window = windows.entry(ip).or_insert(Window {
            started: now,
            wrong: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                wrong: 0,
            };
        }
        window.wrong = window.wrong.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_locked_after_its_wrong_guesses_and_only_it() {
        let guesses = WrongGuesses::default();
        let guesser: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 1..WRONG_GUESSES {
            guesses.wrong(guesser);
            assert_eq!(guesses.locked(guesser), None);
        }
        guesses.wrong(guesser);
        let wait = guesses
            .locked(guesser)
            .expect("locked after the last guess");
        assert!(wait <= WINDOW);
        assert_eq!(guesses.locked(other), None);
    }
}
