//! Server memory and CPU from /proc, so every server (Rust or Node) is measured
//! the same way from the outside.

use std::time::Instant;

/// `/proc/<pid>/stat` times are in USER_HZ, which Linux fixes at 100 for userspace.
const USER_HZ: f64 = 100.0;

/// Resident set size in KiB (VmRSS), or None when the process is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU seconds used so far.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// CPU use of a set of processes over a window, in cores (1.0 = one core busy).
pub struct CpuWindow {
    pids: Vec<u32>,
    start: Instant,
    start_secs: f64,
}

impl CpuWindow {
    pub fn start(pids: &[u32]) -> Self {
        Self {
            pids: pids.to_vec(),
            start: Instant::now(),
            start_secs: pids.iter().filter_map(|&p| cpu_secs(p)).sum(),
        }
    }

    pub fn cores(&self) -> f64 {
        let used: f64 = self.pids.iter().filter_map(|&p| cpu_secs(p)).sum();
        (used - self.start_secs) / self.start.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_process() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_secs(me).is_some());
    }
}
