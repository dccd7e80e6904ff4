//! The `maskgate` command line: subcommands, logging, the runtime, and
//! process signals. Each subcommand lives in its own module; this one only
//! parses and dispatches.

mod api_key;
mod audit;
mod check;
mod explain;
mod serve;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::demo::DemoArgs;

/// maskgate: a secure data-access gateway for a data mesh.
///
/// maskgate sits in front of your data products' HTTP APIs. Consumers call
/// the products through it; it terminates TLS, routes each request to its
/// product, and streams requests and responses through with limits and
/// timeouts; it authenticates callers, masks fields per caller and
/// purpose, and keeps a tamper-evident audit log (`maskgate audit`).
/// Upstream credentials, client certificates and keys can come from
/// HashiCorp Vault or OpenBao (`[vault]`), short-lived and renewed in the
/// background.
///
/// Start with `maskgate demo`: it runs a sample data product behind the
/// gateway, with no configuration needed (`maskgate demo --vault`: the same
/// with every secret from a real OpenBao).
#[derive(Debug, Parser)]
#[command(
    name = "maskgate",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log format on stderr. Verbosity follows RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway from a configuration file.
    ///
    /// Binds every listener and the admin listener, then serves until
    /// SIGTERM or SIGINT (Ctrl-C), when it stops accepting, lets in-flight
    /// requests finish (up to server.timeouts.shutdown_grace) and exits.
    Serve(ConfigArgs),
    /// Check a configuration file without starting anything.
    ///
    /// Prints a short summary when the file is valid. Otherwise prints every
    /// problem found, each with its file, line, column and key path, and
    /// exits with status 1.
    Check(ConfigArgs),
    /// Run the embedded demo: a sample data product behind the gateway.
    ///
    /// Needs no configuration and no Vault. Starts the sample product
    /// "customers" (synthetic people) on a loopback port, writes a gateway
    /// configuration for it into --dir, starts the gateway from that
    /// configuration, writes DIR/demo.json once everything listens, and
    /// prints commands to try. Ctrl-C stops everything.
    Demo(DemoArgs),
    /// Show what a caller would see of a product: a dry run of the masking
    /// policy before rollout.
    ///
    /// Prints the rule that applies to a caller with the given roles and
    /// purpose and, for each classified field, its class and action; with
    /// --sample, the sample rewritten as that caller would get it and how
    /// often each action applied.
    Explain(explain::Explain),
    /// Manage API keys for consumers.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// The auditors' tools: verify the audit log, query it, report on it.
    ///
    /// The log is one JSON line per request, hash-chained, with signed
    /// checkpoints (see docs/audit.md). `verify` proves it complete and
    /// untouched with the public key alone; `query` answers who saw which
    /// class of data, when and why; `report` writes an HTML page.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Make a new API key, and print the `[[authn.api_key]]` entry that
    /// accepts it. The configuration holds only the key's SHA-256 hash;
    /// the key itself is shown once (or written to --key-file).
    New(api_key::NewApiKey),
}

/// The `--config` argument shared by `serve` and `check`.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// The configuration file (TOML). See examples/maskgate.toml.
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Runs the command line; the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // One process-wide crypto provider: ring. The gateway passes it
    // explicitly everywhere; installing it also serves libraries that use
    // the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Check(args) => check::run(&args.config),
        Command::Serve(args) => with_runtime(serve::run(args.config)),
        Command::Demo(args) => with_runtime(crate::demo::run(args)),
        Command::ApiKey(ApiKeyCommand::New(args)) => api_key::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Audit(command) => audit::run(command),
    }
}

fn with_runtime(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(work),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops maskgate");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
