//! The real `cellreg` binary as a child process, for what only a process
//! shows: signals, its exit status, its logs.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{TEST_SECRET, TestDatabase};

/// `target/<profile>/cellreg`, beside the directory of this test executable
/// (`target/<profile>/deps`). `cargo test --workspace` builds it, since the
/// `api` package has an integration test of its own.
pub fn binary() -> PathBuf {
    let test_executable = std::env::current_exe().expect("the test executable's path");
    let profile_dir = test_executable
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let binary = profile_dir.join(format!("cellreg{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build -p api --bin cellreg`) first",
        binary.display()
    );
    binary
}

/// A running `cellreg serve`, killed when dropped.
pub struct ServerProcess {
    child: Child,
    address: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `cellreg serve` on a free loopback port against this database,
    /// with JSON logs and the test secret, plus `settings` as environment
    /// variables; returns once it listens.
    pub fn serve(database: &TestDatabase, settings: &[(&str, &str)]) -> Self {
        // The tests' HTTP clients need it, as with `TestApp::spawn`.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env("DATABASE_URL", database.url().to_string())
            .env("CELLREG_BIND", "127.0.0.1:0")
            .env("CELLREG_WORKERS", "2")
            .env("CELLREG_DB_MAX_CONNECTIONS", "5")
            .env("CELLREG_LOG_FORMAT", "json")
            .env("JWT_SECRET", TEST_SECRET)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start cellreg serve");
        let stderr = child.stderr.take().expect("piped standard error");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (listening_tx, listening_rx) = std::sync::mpsc::channel();
        let collected = logs.clone();
        // Reads every line for as long as the process writes, so it never
        // blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = listening_address(&line) {
                    let _ = listening_tx.send(address);
                }
                collected.lock().expect("log lines").push(line);
            }
        });
        let address = match listening_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "cellreg did not report listening; its logs:\n{}",
                    logs.lock().expect("log lines").join("\n")
                );
            }
        };
        Self {
            child,
            address: format!("http://{address}"),
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends a signal by name (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit; panics past `limit`.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for cellreg") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "cellreg still runs {limit:?} after it was told to stop"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every log line written so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("log lines").clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the JSON log line `cellreg listening`.
fn listening_address(line: &str) -> Option<String> {
    let entry: Value = serde_json::from_str(line).ok()?;
    let fields = entry.get("fields")?;
    (fields.get("message")?.as_str()? == "cellreg listening")
        .then(|| fields.get("address")?.as_str().map(str::to_owned))
        .flatten()
}
