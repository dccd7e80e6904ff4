//! `maskgate api-key new`: make an API key for a consumer, and the
//! configuration entry that accepts it (which holds only its hash).

use std::{path::PathBuf, process::ExitCode};

use clap::Args;
use maskgate_authn::ApiKeys;

/// `maskgate api-key new` arguments.
#[derive(Debug, Args)]
pub(super) struct NewApiKey {
    /// The key's id: letters, digits and `-` (it is part of the key, and
    /// names the consumer in logs and audit records).
    #[arg(long)]
    id: String,
    /// A role the consumer gets (repeat for several).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// The subject the consumer is known as (default: the id).
    #[arg(long)]
    subject: Option<String>,
    /// Write the key to this file (created with mode 0600) instead of
    /// printing it.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

pub(super) fn run(args: &NewApiKey) -> ExitCode {
    let (key, hash) = match ApiKeys::generate(&args.id) {
        Ok(made) => made,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let key_text = key.expose_str().unwrap_or_default();
    match &args.key_file {
        Some(path) => {
            if let Err(error) = write_private(path, key_text) {
                eprintln!("error: cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("the key is in {} (give it to the consumer)", path.display());
        }
        None => {
            eprintln!(
                "the key (shown once; give it to the consumer, never store it in the config):"
            );
            println!("{key_text}");
        }
    }
    eprintln!("\nadd to the [authn] section of the configuration:");
    println!("{}", config_entry(args, &hash));
    ExitCode::SUCCESS
}

fn config_entry(args: &NewApiKey, hash: &str) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let mut entry = format!(
        "[[authn.api_key]]\nid = {}\nhash = {}\n",
        quote(&args.id),
        quote(hash)
    );
    if let Some(subject) = &args.subject {
        entry.push_str(&format!("subject = {}\n", quote(subject)));
    }
    let roles: Vec<String> = args.roles.iter().map(|r| quote(r)).collect();
    entry.push_str(&format!("roles = [{}]", roles.join(", ")));
    entry
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(text.as_bytes())
}
