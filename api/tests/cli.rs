//! The `cellreg` command line as an operator meets it. (This integration
//! test also makes `cargo test --workspace` build the binary, which the
//! end-to-end tests start as a process.)

use std::process::Command;

fn help(subcommand: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cellreg"))
        .args([subcommand, "--help"])
        .output()
        .expect("run cellreg");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 help")
}

#[test]
fn serve_documents_the_operating_settings() {
    let help = help("serve");
    for setting in [
        "CELLREG_SHUTDOWN_TIMEOUT",
        "CELLREG_METRICS",
        "CELLREG_CORS_ALLOWED_ORIGINS",
    ] {
        assert!(
            help.contains(setting),
            "`cellreg serve --help` names {setting}:\n{help}"
        );
    }
}
