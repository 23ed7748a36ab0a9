//! `mooring-devserver`: runs the Dataverse Web API emulator until Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "mooring-devserver",
    about = "A Dataverse Web API emulator on 127.0.0.1"
)]
struct Args {
    /// Port to listen on (0 = pick a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// SQLite file to persist to (default: in memory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Rows to seed per table (only into empty tables).
    #[arg(long, default_value_t = 0)]
    seed_rows: usize,
    /// Entity sets to seed, comma-separated (default: every table).
    #[arg(long, value_delimiter = ',')]
    seed_tables: Vec<String>,
    /// Seed of the deterministic generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bearer token of the default user.
    #[arg(long, default_value = "dev-token", env = "MOORING_DEV_TOKEN")]
    token: String,
    /// Full name of the default user.
    #[arg(long, default_value = "Dev User")]
    user_name: String,
    /// Another user, as NAME=TOKEN (repeatable).
    #[arg(long = "user", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// JSON schema file (default: the built-in sample schema).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Delta tokens older than this many seconds expire (0x80044352).
    #[arg(long, default_value_t = 7 * 86_400)]
    delta_retention_secs: u64,
    /// Request budget per user as N/SECS (e.g. 6000/300); past it, 429.
    #[arg(long, value_parser = parse_budget)]
    request_budget: Option<(u32, Duration)>,
    /// Concurrent requests per user (Dataverse allows 52); past it, 429.
    #[arg(long)]
    max_concurrent: Option<u32>,
    /// Largest page served (max 5000).
    #[arg(long, default_value_t = 5000)]
    max_page_size: usize,
    /// Never compress answers (by default gzip when the request asks).
    #[arg(long)]
    no_compression: bool,
    /// HTTPS (HTTP/2 and HTTP/1.1) with the test certificate of
    /// devserver/tls/ (trust devserver/tls/test-ca.pem in the client).
    #[arg(long)]
    tls: bool,
    /// The host name its links carry (default 127.0.0.1): the name clients
    /// reach it by, through a proxy or a DNS entry.
    #[arg(long)]
    public_host: Option<String>,
    /// Print the built-in sample schema and exit.
    #[arg(long)]
    print_schema: bool,
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    let (n, t) = s.split_once('=').ok_or("expected NAME=TOKEN")?;
    if n.trim().is_empty() || t.trim().is_empty() {
        return Err("expected NAME=TOKEN".into());
    }
    Ok((n.trim().to_string(), t.trim().to_string()))
}

fn parse_budget(s: &str) -> Result<(u32, Duration), String> {
    let (n, secs) = s.split_once('/').ok_or("expected N/SECS, e.g. 6000/300")?;
    let n: u32 = n.parse().map_err(|_| "N must be a number")?;
    let secs: u64 = secs.parse().map_err(|_| "SECS must be a number")?;
    if n == 0 || secs == 0 {
        return Err("N and SECS must be positive".into());
    }
    Ok((n, Duration::from_secs(secs)))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.print_schema {
        println!("{}", mooring_devserver::SAMPLE_SCHEMA);
        return std::process::ExitCode::SUCCESS;
    }
    let config = mooring_devserver::Config {
        port: args.port,
        db_path: args.db,
        seed_rows: args.seed_rows,
        seed_tables: args.seed_tables,
        tls: args.tls,
        seed: args.seed,
        token: args.token,
        user_name: args.user_name,
        extra_users: args.users,
        schema: args.schema,
        delta_retention: Duration::from_secs(args.delta_retention_secs),
        max_page_size: args.max_page_size,
        request_budget: args.request_budget,
        max_concurrent: args.max_concurrent,
        compression: !args.no_compression,
        public_host: args.public_host,
        ..Default::default()
    };
    let server = match mooring_devserver::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mooring-devserver: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("{}", server.base_url());
    for u in server
        .admin()
        .users()
        .iter()
        .filter(|u| !u.token.is_empty())
    {
        tracing::info!(
            "user {:?} id {} (token given on the command line)",
            u.name,
            u.id
        );
    }
    tracing::info!(
        "serving until Ctrl-C; admin API under {}/admin/",
        server.root_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping");
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_users_and_budgets() {
        assert_eq!(
            parse_user("Sam Field=tok"),
            Ok(("Sam Field".into(), "tok".into()))
        );
        assert!(
            parse_user("no-token").is_err()
                && parse_user("=x").is_err()
                && parse_user("a=").is_err()
        );
        assert_eq!(
            parse_budget("6000/300"),
            Ok((6000, Duration::from_secs(300)))
        );
        for bad in ["6000", "0/300", "10/0", "x/1", "1/y"] {
            assert!(parse_budget(bad).is_err(), "{bad}");
        }
        let a = Args::try_parse_from([
            "mooring-devserver",
            "--port",
            "0",
            "--user",
            "A=a",
            "--user",
            "B=b",
            "--request-budget",
            "5/2",
        ])
        .unwrap();
        assert_eq!(a.users.len(), 2);
        assert_eq!(a.request_budget, Some((5, Duration::from_secs(2))));
        assert!(Args::try_parse_from(["mooring-devserver", "--port", "x"]).is_err());
    }
}
