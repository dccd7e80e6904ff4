//! `maskgate audit`: the auditors' tools — verify a log, query it, render
//! its HTML report, find a value among HMAC'd identifiers, make keys.

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand, ValueEnum};
use maskgate_audit::{
    Decision, Filter, Format, IdentifierHasher, Options, PublicKey, Report,
    load_or_create_hmac_key, load_or_create_signing_key, parse_time, public_key_path, read_records,
    render_report, verify_paths_with, write_records,
};

/// `maskgate audit` subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Check that a log is complete and untouched.
    ///
    /// Checks the hash chain line by line, every checkpoint's Ed25519
    /// signature (with the public key: all a verifier needs), that each
    /// file continues the one before it (rotation), and that the log ends
    /// with the final checkpoint written at shutdown. PATHs are log files
    /// or directories (their *.jsonl files), in any order.
    ///
    /// Prints a summary and exits 0 when all is well; otherwise prints each
    /// problem as FILE:LINE: what (a line modified, deleted, inserted or
    /// moved, a file missing, the tail truncated, records lost while the
    /// disk was failing) and exits 1. Exits 2 when the files or key cannot
    /// be read.
    Verify(VerifyArgs),
    /// List the access records that match filters.
    ///
    /// Every filter given must match. Times are RFC 3339
    /// (2026-11-25T09:00:00Z). Does not verify the log: run `verify` for
    /// that.
    Query(QueryArgs),
    /// Write a self-contained HTML report for a browser.
    ///
    /// The verification result at the top, then accesses per product and
    /// per role over time (charts), refused attempts, and every reveal of
    /// a protected class. The page loads nothing from the network.
    Report(ReportArgs),
    /// Print the HMAC of a value, as the log writes HMAC'd identifiers
    /// (subjects, client addresses, query values), to find it in a log.
    Hash(HashArgs),
    /// Make a signing key (PKCS#8, with its .pub beside it) and an HMAC
    /// key, for the [audit] section. Existing files are kept.
    Keygen(KeygenArgs),
}

/// `maskgate audit verify` arguments.
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// Log files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The public key file (`ed25519:<hex>`, written beside the signing
    /// key as NAME.pub).
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The gateway is still writing this log: do not require the final
    /// checkpoint, and say how many lines follow the last signed one (they
    /// become provable at the next checkpoint).
    #[arg(long)]
    live: bool,
}

/// `maskgate audit query` arguments.
#[derive(Debug, Args)]
pub(super) struct QueryArgs {
    /// Log files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The caller's subject (matched as written, or as its HMAC with
    /// --hmac-key).
    #[arg(long)]
    subject: Option<String>,
    /// The HMAC key file, to find a subject in a log that holds HMACs.
    #[arg(long, value_name = "FILE")]
    hmac_key: Option<PathBuf>,
    /// The product.
    #[arg(long)]
    product: Option<String>,
    /// A data class some field of the response had (email, card_number...).
    #[arg(long)]
    class: Option<String>,
    /// An action some field got (reveal, pass, mask, redact...).
    #[arg(long)]
    action: Option<String>,
    /// The decision.
    #[arg(long, value_enum)]
    decision: Option<DecisionArg>,
    /// At or after this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    since: Option<std::time::SystemTime>,
    /// Before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    until: Option<std::time::SystemTime>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

/// `maskgate audit report` arguments.
#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// Log files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The public key file, to verify the log.
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// Where to write the page.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The gateway is still writing this log (see `verify --live`).
    #[arg(long)]
    live: bool,
}

/// `maskgate audit hash` arguments.
#[derive(Debug, Args)]
pub(super) struct HashArgs {
    /// The value (a subject, an IP address, a query value).
    value: String,
    /// The HMAC key file of the [audit] section.
    #[arg(long, value_name = "FILE")]
    hmac_key: PathBuf,
}

/// `maskgate audit keygen` arguments.
#[derive(Debug, Args)]
pub(super) struct KeygenArgs {
    /// The signing key file to create (mode 0600).
    #[arg(long, value_name = "FILE")]
    signing_key: PathBuf,
    /// The HMAC key file to create (mode 0600).
    #[arg(long, value_name = "FILE")]
    hmac_key: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DecisionArg {
    Allowed,
    Refused,
    Failed,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Csv,
}

fn time_arg(text: &str) -> Result<std::time::SystemTime, String> {
    parse_time(text)
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 time (2026-11-25T09:00:00Z)"))
}

pub(super) fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Verify(args) => verify(&args),
        AuditCommand::Query(args) => query(args),
        AuditCommand::Report(args) => report(&args),
        AuditCommand::Hash(args) => hash(&args),
        AuditCommand::Keygen(args) => keygen(&args),
    }
}

/// Prints the error and gives exit code 2 (could not run).
fn cannot(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}

fn verification(paths: &[PathBuf], key: &std::path::Path, live: bool) -> Result<Report, ExitCode> {
    let key = PublicKey::load(key).map_err(cannot)?;
    let options = if live {
        Options::live()
    } else {
        Options::default()
    };
    verify_paths_with(paths, &key, options).map_err(cannot)
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let report = match verification(&args.paths, &args.public_key, args.live) {
        Ok(report) => report,
        Err(code) => return code,
    };
    if report.is_ok() {
        let signed: Vec<String> = report
            .last_signed
            .iter()
            .map(|(instance, seq)| match report.unsigned_tail.get(instance) {
                Some(tail) => format!(
                    "instance {instance}: signed up to seq {seq}, {tail} line(s) after it not signed yet"
                ),
                None => format!("instance {instance}: signed up to seq {seq}"),
            })
            .collect();
        let end = if report.unsigned_tail.is_empty() {
            "the log ends with its final checkpoint"
        } else {
            "live: the log is still being written"
        };
        println!(
            "OK: {} file(s), {} record(s), {} checkpoint(s); {}; {end}",
            report.files,
            report.records,
            report.checkpoints,
            signed.join("; ")
        );
        ExitCode::SUCCESS
    } else {
        for problem in &report.problems {
            println!("{problem}");
        }
        println!(
            "FAILED: {} problem(s) in {} file(s) ({} record(s), {} valid checkpoint(s))",
            report.problems.len(),
            report.files,
            report.records,
            report.checkpoints
        );
        ExitCode::FAILURE
    }
}

fn query(args: QueryArgs) -> ExitCode {
    let hasher = match &args.hmac_key {
        Some(path) => {
            match load_or_create_hmac_key(path, false).and_then(|key| IdentifierHasher::new(&key)) {
                Ok(hasher) => Some(hasher),
                Err(error) => return cannot(error),
            }
        }
        None => None,
    };
    let records = match read_records(&args.paths) {
        Ok(records) => records,
        Err(error) => return cannot(error),
    };
    let mut filter = Filter::default();
    filter.subject = args.subject;
    filter.hasher = hasher;
    filter.product = args.product;
    filter.class = args.class;
    filter.action = args.action;
    filter.decision = args.decision.map(|d| match d {
        DecisionArg::Allowed => Decision::Allowed,
        DecisionArg::Refused => Decision::Refused,
        DecisionArg::Failed => Decision::Failed,
    });
    filter.since = args.since;
    filter.until = args.until;
    let matching: Vec<&maskgate_audit::Record> = records
        .iter()
        .map(|l| &l.record)
        .filter(|r| filter.matches(r))
        .collect();
    let format = match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
    };
    let mut out = std::io::stdout().lock();
    match write_records(&matching, format, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => cannot(error),
    }
}

fn report(args: &ReportArgs) -> ExitCode {
    let report = match verification(&args.paths, &args.public_key, args.live) {
        Ok(report) => report,
        Err(code) => return code,
    };
    let records = match read_records(&args.paths) {
        Ok(records) => records,
        Err(error) => return cannot(error),
    };
    let sources: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    let records: Vec<&maskgate_audit::Record> = records.iter().map(|l| &l.record).collect();
    let html = render_report(&report, &records, &sources);
    if let Err(error) = std::fs::write(&args.out, html) {
        return cannot(format!("cannot write {}: {error}", args.out.display()));
    }
    println!(
        "wrote {} ({} records; verification {})",
        args.out.display(),
        records.len(),
        if report.is_ok() { "OK" } else { "FAILED" }
    );
    ExitCode::SUCCESS
}

fn hash(args: &HashArgs) -> ExitCode {
    match load_or_create_hmac_key(&args.hmac_key, false).and_then(|key| IdentifierHasher::new(&key))
    {
        Ok(hasher) => {
            println!("{}", hasher.hash(&args.value));
            ExitCode::SUCCESS
        }
        Err(error) => cannot(error),
    }
}

fn keygen(args: &KeygenArgs) -> ExitCode {
    if let Err(error) = load_or_create_signing_key(&args.signing_key, true) {
        return cannot(error);
    }
    if let Err(error) = load_or_create_hmac_key(&args.hmac_key, true) {
        return cannot(error);
    }
    println!(
        "signing key: {}\npublic key (for verifiers): {}\nHMAC key: {}",
        args.signing_key.display(),
        public_key_path(&args.signing_key).display(),
        args.hmac_key.display()
    );
    ExitCode::SUCCESS
}
