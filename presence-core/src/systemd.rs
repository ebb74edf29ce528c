//! systemd integration for `Type=notify` units: readiness, stopping, watchdog.
//!
//! Without `NOTIFY_SOCKET` (not under systemd, or in tests) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;

/// Tells systemd the service is ready. Call only when it can really serve: the
/// listener is bound and the store answers.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd the service is stopping, so it does not count the shutdown as a
/// hang.
pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// Starts pinging systemd's watchdog at half its interval, if `WatchdogSec=` is set.
/// The pings come from a task on the same runtime as the service, so a stuck
/// runtime stops them and systemd restarts the process.
pub fn spawn_watchdog() {
    let Some(timeout) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = (timeout / 2).max(Duration::from_millis(100));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            notify(&[NotifyState::Watchdog]);
        }
    });
}

fn notify(state: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(state) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}
