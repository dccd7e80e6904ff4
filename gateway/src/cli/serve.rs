//! `maskgate serve`: load the configuration, bind, serve until a signal.

use std::{path::PathBuf, process::ExitCode};

use maskgate_config::Config;

use crate::server::Gateway;

pub(super) async fn run(path: PathBuf) -> ExitCode {
    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: invalid configuration\n{error}");
            return ExitCode::FAILURE;
        }
    };
    let gateway = match Gateway::bind(&config).await {
        Ok(gateway) => gateway,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    gateway.run(super::shutdown_signal()).await;
    ExitCode::SUCCESS
}
