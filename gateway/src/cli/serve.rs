//! `maskgate serve`: load the configuration, bind, serve until a signal.

use std::{path::PathBuf, process::ExitCode};

use maskgate_config::{Config, ConfigError};

use crate::server::{Gateway, Reloader, StartError};

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
        Err(StartError::Masking(problems)) => {
            let error = ConfigError::invalid_in(&path, &problems);
            eprintln!("error: invalid configuration\n{error}");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let watch = config.server.watch_config.map(|every| {
        tokio::spawn(reload_on_change(
            path.clone(),
            every.get(),
            gateway.reloader(),
        ))
    });
    let reloads = tokio::spawn(reload_on_hangup(path, gateway.reloader()));
    gateway.run(super::shutdown_signal()).await;
    reloads.abort();
    if let Some(watch) = watch {
        watch.abort();
    }
    ExitCode::SUCCESS
}

/// On SIGHUP, reloads the configuration file: a valid one applies to new
/// requests, an invalid one is refused with its errors and the running one
/// stays.
async fn reload_on_hangup(path: PathBuf, reloader: Reloader) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; reloading is off");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        reload(&path, &reloader);
    }
}

/// Every `every`, reloads the configuration file if its content changed
/// (`server.watch_config`). Content, not modification time, decides:
/// editors that rewrite a file unchanged do not cause a reload.
async fn reload_on_change(path: PathBuf, every: std::time::Duration, reloader: Reloader) {
    let mut last = std::fs::read(&path).ok();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = std::fs::read(&path).ok();
        if now.is_some() && now != last {
            last = now;
            reload(&path, &reloader);
        }
    }
}

fn reload(path: &std::path::Path, reloader: &Reloader) {
    match reloader.reload_file(path) {
        Ok(needs_restart) if needs_restart.is_empty() => {
            tracing::info!(config = %path.display(), "configuration reloaded");
        }
        Ok(needs_restart) => tracing::warn!(
            config = %path.display(),
            unchanged = ?needs_restart,
            "configuration reloaded; these sections change only with a restart"
        ),
        Err(error) => tracing::error!(
            config = %path.display(),
            "configuration reload refused, the running configuration stays: {error}"
        ),
    }
}
