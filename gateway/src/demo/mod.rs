//! `maskgate demo`: the embedded default. A sample data product and the
//! gateway in front of it, set up in a directory the user can read, edit
//! and re-run with `maskgate serve`.
//!
//! Owns the demo's orchestration and the files it writes (configuration,
//! `demo.json`, TLS material with `--tls`). The sample product itself lives
//! in `sample_product` ([`SampleProduct`]), its synthetic data in
//! `customers` ([`generate`]).

mod customers;
mod sample_product;
mod setup;
mod tls;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand};
use tokio::net::TcpListener;

pub use self::{
    customers::{Address, Customer, Segment, generate},
    sample_product::{DEFAULT_CUSTOMERS, DEFAULT_SEED, SampleProduct},
    setup::{DemoInfo, DemoProduct},
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
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    let result = match args.action {
        Some(DemoAction::Product { listen, customers }) => run_product(listen, customers).await,
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
