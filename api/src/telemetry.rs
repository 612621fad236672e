//! Logging: `RUST_LOG` picks what is logged (default `info`), `--log-format`
//! how. Logs go to standard error so commands can print results on standard output.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. A malformed `RUST_LOG` is an error, not a
/// silent fallback. Calling it twice keeps the first subscriber.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|err| format!("invalid RUST_LOG `{directives}`: {err}"))?,
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Err only means a subscriber is already installed (tests start many servers).
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    Ok(())
}
