//! The `cellreg` command: serve, migrate, export-schema.

use std::process::ExitCode;

use anyhow::Context;
use api::config::{Cli, Command, MigrateAction};
use api::startup::Application;
use api::{database, graphql, telemetry};
use clap::Parser;
use migration::{Migrator, MigratorTrait};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = telemetry::init(cli.log_format) {
        eprintln!("cellreg: {err}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cellreg: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cellreg: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, joined by ": ", leaving out a cause
/// whose text its parent's message already shows.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => {
            let app = Application::build(config).await?;
            app.run_until_stopped()
                .await
                .context("the HTTP server stopped with an error")
        }
        Command::Migrate {
            database: args,
            action,
        } => {
            let url = args.url.to_string();
            let db = database::connect(&args).await?;
            // Refuses a database migrated by a newer cellreg before touching it.
            database::read_state(&db, &url).await?;
            match action {
                MigrateAction::Up { num } => {
                    Migrator::up(&db, num).await.context("migrate up failed")?
                }
                MigrateAction::Down { num } => Migrator::down(&db, Some(num))
                    .await
                    .context("migrate down failed")?,
                MigrateAction::Status => {}
            }
            let state = database::read_state(&db, &url).await?;
            for (name, applied) in &state.known {
                println!("{}  {name}", if *applied { "applied" } else { "pending" });
            }
            println!(
                "{} of {} migrations applied on {url}",
                state.known.len() - state.pending(),
                state.known.len()
            );
            Ok(())
        }
        Command::ExportSchema { output } => {
            let sdl = graphql::sdl();
            match output {
                Some(path) => std::fs::write(&path, sdl)
                    .with_context(|| format!("cannot write {}", path.display())),
                None => {
                    print!("{sdl}");
                    Ok(())
                }
            }
        }
    }
}
