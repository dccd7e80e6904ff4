//! `maskgate explain`: a dry run of the masking policy for the security
//! team, before rollout. Which rule applies to a caller, what each
//! classified field becomes, and (with a sample) the rewritten document.

use std::{fmt::Write as _, path::PathBuf, process::ExitCode, sync::Arc};

use clap::Args;
use maskgate_config::{Config, ConfigError};
use maskgate_masking::{Plan, RewriteLimits, Rewriter, Stored, Treatment, Unclassified};

use crate::protect::Protection;

/// `maskgate explain` arguments.
#[derive(Debug, Args)]
pub(super) struct Explain {
    /// The configuration file.
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    /// The product, by name.
    #[arg(long)]
    product: String,
    /// A role of the caller (repeat for several).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// The purpose the caller declares.
    #[arg(long)]
    purpose: Option<String>,
    /// A sample response to rewrite as this caller would see it: JSON, or
    /// NDJSON when the file is named `*.ndjson` or `*.jsonl`.
    #[arg(long, value_name = "FILE")]
    sample: Option<PathBuf>,
    /// Print the compiled plan: each field's action with all its
    /// parameters, how stored fields are opened, and the actions for what
    /// detectors find in free text (no sample is rewritten).
    #[arg(long)]
    plan: bool,
}

pub(super) fn run(args: &Explain) -> ExitCode {
    match explain(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn explain(args: &Explain) -> Result<String, String> {
    let config = Config::load(&args.config).map_err(|e| e.to_string())?;
    // A dry run never logs in to Vault: with transit keys, pseudonyms and
    // envelopes are made with throw-away local keys (their shape is right,
    // their values differ from what the gateway writes).
    let dry_run_keys = if config.masking.transit.is_some() {
        let keys = maskgate_masking::LocalKeyring::random().map_err(|e| e.to_string())?;
        Some(Arc::new(keys) as Arc<dyn maskgate_masking::KeyProvider>)
    } else {
        None
    };
    let protection = Protection::from_config(&config, dry_run_keys)
        .map_err(|problems| ConfigError::invalid_in(&args.config, &problems).to_string())?;
    let index = config
        .products
        .iter()
        .position(|p| p.name == args.product)
        .ok_or_else(|| {
            format!(
                "no product named {:?} in {}",
                args.product,
                args.config.display()
            )
        })?;
    let Some((rule, plan)) = protection.plan_for(index, &args.roles, args.purpose.as_deref())
    else {
        return Ok(format!(
            "product {}: no classified fields; responses pass unchanged\n",
            args.product
        ));
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "product {} for roles [{}]{}: rule {rule:?}",
        args.product,
        args.roles.join(", "),
        args.purpose
            .as_deref()
            .map_or_else(String::new, |p| format!(" and purpose {p:?}")),
    );
    for field in plan.fields() {
        let _ = write!(
            out,
            "  {:<32} {:<14} -> {}",
            field.selector,
            field.class,
            field.action.name(),
        );
        if field.rule != rule {
            let _ = write!(out, " (from rule {:?})", field.rule);
        }
        let _ = match field.stored {
            Stored::Clear => writeln!(out),
            Stored::Encrypted => writeln!(out, " (stored encrypted: opened first)"),
            _ => writeln!(out, " (stored tokenized: detokenized first)"),
        };
        if args.plan {
            let _ = writeln!(out, "  {:<32} {:<14}    {:?}", "", "", field.action);
            if let Stored::Tokenized(tokenize) = &field.stored {
                let _ = writeln!(out, "  {:<32} {:<14}    stored as {tokenize:?}", "", "");
            }
        }
    }
    write_unclassified(&mut out, &plan, args.plan);
    let Some(sample) = args.sample.as_ref().filter(|_| !args.plan) else {
        return Ok(out);
    };
    let input =
        std::fs::read(sample).map_err(|e| format!("cannot read {}: {e}", sample.display()))?;
    let bound = Arc::new(plan.for_consumer("explain", protection.keys()));
    // An NDJSON sample (one record a line) as an NDJSON response is read.
    let ndjson = sample
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ndjson") || e.eq_ignore_ascii_case("jsonl"));
    let mut rewriter = if ndjson {
        Rewriter::ndjson(bound, RewriteLimits::default())
    } else {
        Rewriter::new(bound, RewriteLimits::default())
    };
    let mut rewritten = Vec::new();
    rewriter
        .feed(&input, &mut rewritten)
        .map_err(|e| format!("{}: {e}", sample.display()))?;
    let summary = rewriter
        .finish(&mut rewritten)
        .map_err(|e| format!("{}: {e}", sample.display()))?;
    let _ = writeln!(out, "\napplied:");
    for ((id, treatment), count) in summary.fields() {
        // Unclassified values a `deny` product drops are counted under an
        // id of their own, not a classified field's.
        let (selector, action) = match plan.field(id) {
            Some(field) => (field.selector.as_str(), field.action.name()),
            None => ("unclassified (deny)", "drop"),
        };
        let _ = writeln!(
            out,
            "  {selector:<32} {action} x{count} ({})",
            treatment_name(treatment)
        );
    }
    for ((class, treatment), count) in summary.detected() {
        let _ = writeln!(
            out,
            "  {:<32} {class:<14} -> {} x{count} ({})",
            "found in text",
            crate::audit::detected_action(&plan, class),
            treatment_name(treatment)
        );
    }
    if summary.unclassified_scanned > 0 {
        let _ = writeln!(
            out,
            "  unclassified strings: {} scanned, {} with findings replaced, {} dropped",
            summary.unclassified_scanned,
            summary.unclassified_replaced,
            summary.unclassified_dropped
        );
    }
    let _ = writeln!(
        out,
        "\nrewritten sample:\n{}",
        String::from_utf8_lossy(&rewritten)
    );
    Ok(out)
}

/// What becomes of the fields no selector names: for `detect`, the action
/// each class found in free text gets (with its parameters when
/// `parameters`).
fn write_unclassified(out: &mut String, plan: &Plan, parameters: bool) {
    let _ = match plan.unclassified() {
        Unclassified::Detect => writeln!(
            out,
            "  unclassified fields: detect (strings are scanned; a value found in them gets its class's action)"
        ),
        Unclassified::Deny => writeln!(out, "  unclassified fields: deny (dropped)"),
        _ => writeln!(out, "  unclassified fields: pass (unchanged)"),
    };
    for (class, action) in plan.detected() {
        let _ = writeln!(
            out,
            "  {:<32} {class:<14} -> {}",
            "  found in text",
            action.name()
        );
        if parameters {
            let _ = writeln!(out, "  {:<32} {:<14}    {action:?}", "", "");
        }
    }
}

fn treatment_name(treatment: Treatment) -> &'static str {
    match treatment {
        Treatment::Kept => "kept",
        Treatment::Replaced => "replaced",
        Treatment::Dropped => "dropped",
        Treatment::ContainerDropped => "container dropped",
        Treatment::ContainerReplaced => "container replaced",
        _ => "applied to each value inside",
    }
}
