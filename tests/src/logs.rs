//! Where the processes a test starts write their logs: one file each, so `cargo
//! test` shows test results and nothing else.
//!
//! - Every child's standard output and error go to
//!   `$TMPDIR/presence-test-logs-<test process id>/<name>-<n>.log`.
//! - `PRESENCE_TEST_LOG=<level>` sets the children's `RUST_LOG` (default `info`) and
//!   also prints every line as it comes, prefixed with the file's name.
//! - A test that fails prints the last lines of each log it owned and keeps the file;
//!   a test that passes deletes them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The variable that turns printing on and sets the children's log level.
pub const VARIABLE: &str = "PRESENCE_TEST_LOG";

/// Lines printed from a failed test's log.
const TAIL_LINES: usize = 40;

/// `RUST_LOG` for the children: `PRESENCE_TEST_LOG`, or `info` (into the files).
pub fn level() -> String {
    requested().unwrap_or_else(|| "info".to_owned())
}

/// `PRESENCE_TEST_LOG`, when set and not empty.
fn requested() -> Option<String> {
    std::env::var(VARIABLE)
        .ok()
        .filter(|level| !level.is_empty())
}

/// This test process's log directory.
pub fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("presence-test-logs-{}", std::process::id()))
}

/// One child's log: its file and the lines so far.
pub struct ChildLog {
    name: String,
    path: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
}

impl ChildLog {
    /// Takes `child`'s piped standard output and error (whichever are piped) and
    /// copies their lines into a new file named after `name`.
    pub fn capture(name: &str, child: &mut Child) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = dir();
        std::fs::create_dir_all(&dir).expect("create the test log directory");
        let label = format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let path = dir.join(format!("{label}.log"));
        let file = Arc::new(Mutex::new(
            File::create(&path).expect("create a test log file"),
        ));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let echo = requested().is_some();
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let (file, lines, label) = (file.clone(), lines.clone(), label.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = writeln!(lock(&file), "{line}");
                    if echo {
                        // Straight to the terminal: the test harness captures
                        // `eprintln!`, also from threads a test spawns.
                        let _ = writeln!(std::io::stderr().lock(), "[{label}] {line}");
                    }
                    lock(&lines).push(line);
                }
            });
        }
        Self {
            name: label,
            path,
            lines,
        }
    }

    /// Every line so far, standard output and error interleaved as they came.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.lines).clone()
    }

    pub fn path(&self) -> &PathBuf {
        &self.path
    }
}

impl Drop for ChildLog {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.path);
            // Succeeds only when this was the last file.
            let _ = std::fs::remove_dir(dir());
            return;
        }
        let lines = lock(&self.lines);
        let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
        // eprintln! on the test's thread: the harness shows it with the failure.
        eprintln!(
            "--- {}: last {} of {} lines, all in {}",
            self.name,
            tail.len(),
            lines.len(),
            self.path.display()
        );
        for line in tail {
            eprintln!("{line}");
        }
    }
}

/// A lock whose holder cannot leave the data half-written (a line is pushed whole).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
