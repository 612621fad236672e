//! The administrators' migration CLI: `cargo run -p migration -- up|down|status|fresh|…`.
//!
//! The same commands as sea-orm-migration's CLI, but like `cellreg` it needs no
//! configuration: without `DATABASE_URL` it works on `cellreg.db` in the
//! working directory.

use clap::Parser;
use sea_orm_cli::MigrateSubcommands;
use sea_orm_migration::sea_orm::Database;

#[derive(Parser)]
#[command(
    version,
    about = "Apply, roll back or inspect cellreg's schema migrations"
)]
struct Cli {
    /// Database to migrate.
    #[arg(
        short = 'u',
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://cellreg.db?mode=rwc",
        global = true
    )]
    database_url: String,

    /// Show debug messages.
    #[arg(short = 'v', long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Option<MigrateSubcommands>,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let db = match Database::connect(&cli.database_url).await {
        Ok(db) => db,
        Err(err) => {
            eprintln!("migration: cannot connect to the database: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) =
        sea_orm_migration::cli::run_migrate(migration::Migrator, &db, cli.command, cli.verbose)
            .await
    {
        eprintln!("migration: {err}");
        std::process::exit(1);
    }
}
