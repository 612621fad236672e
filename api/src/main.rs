//! The `cellreg` command: serve, migrate, export-schema.

use std::process::ExitCode;

use anyhow::Context;
use api::audit::service::{self as audit, Verification};
use api::auth::jwt::{self, TokenRequest};
use api::auth::keys;
use api::config::{AuditAction, Cli, Command, MigrateAction, SeedDataset};
use api::seed::{self, Seeded};
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
        Command::Token(args) => {
            let key = keys::signing_key(&args.auth, args.private_key.as_deref(), args.kid.clone())?;
            let request = TokenRequest {
                subject: args.sub,
                role: args.role,
                org: args.org,
                ttl: args.ttl,
            };
            let token = jwt::issue(
                &key,
                &args.auth.jwt_issuer,
                &args.auth.jwt_audience,
                args.auth.token_max_lifetime,
                &request,
            )
            .map_err(anyhow::Error::msg)?;
            println!("{token}");
            Ok(())
        }
        Command::Audit {
            database: args,
            action: AuditAction::Verify,
        } => {
            let url = args.url.to_string();
            let db = database::connect(&args).await?;
            database::read_state(&db, &url).await?;
            match audit::verify(&db)
                .await
                .map_err(|err| anyhow::anyhow!("cannot read the audit log: {err}"))?
            {
                Verification::Intact { rows } => {
                    println!("OK: {rows} audit rows, chain intact");
                    Ok(())
                }
                Verification::Broken { seq, reason } => {
                    anyhow::bail!("audit chain broken at row {seq}: {reason}")
                }
                Verification::Truncated { rows, expected } => {
                    anyhow::bail!(
                        "audit chain truncated: {rows} rows present, {expected} were written"
                    )
                }
            }
        }
        Command::Seed {
            database: args,
            dataset:
                SeedDataset::Demo {
                    seed: number,
                    force,
                },
        } => {
            let url = args.url.to_string();
            let db = database::connect(&args).await?;
            database::prepare(&db, &url, true).await?;
            eprintln!("seeding the Sông Lô demo (seed {number}) into {url}");
            match seed::demo(&db, number, force, |line| eprintln!("  {line}")).await? {
                Seeded::AlreadyThere => {
                    println!("the Sông Lô demo is already in {url}: nothing to do")
                }
                Seeded::Built {
                    communes,
                    cells,
                    members,
                } => println!(
                    "seeded Sông Lô into {url}: {communes} grassroots committees, {cells} cells, {members} members, plan {}",
                    seed::PLAN_CODE
                ),
            }
            Ok(())
        }
        Command::ExportOpenapi { output } => {
            use utoipa::OpenApi;
            let document = api::rest::ApiDoc::openapi()
                .to_pretty_json()
                .context("cannot render the OpenAPI document")?;
            match output {
                Some(path) => std::fs::write(&path, document)
                    .with_context(|| format!("cannot write {}", path.display())),
                None => {
                    println!("{document}");
                    Ok(())
                }
            }
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
