//! The auditors' query engine: the access records of a log, filtered.
//!
//! Reads every `rec` line of the given files (other lines are the chain's;
//! `verify` checks those) and keeps those matching every filter given: a
//! subject (in the clear, or as its HMAC when the key is given, so that an
//! auditor can ask for `alice` in a log that holds only HMACs), a product,
//! a class or an action some field got, a decision, a time range. Output as
//! an aligned table, JSON lines, or CSV.

use std::{io::Write, path::PathBuf, time::SystemTime};

use crate::{AuditError, Decision, IdentifierHasher, Record};

/// A record and where it is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Located {
    /// The file.
    pub file: PathBuf,
    /// Its 1-based line.
    pub line: usize,
    /// The record.
    pub record: Record,
}

/// Reads the access records of the log files at `paths` (directories: their
/// `*.jsonl` files). A record line that does not parse is an error naming
/// its place.
pub fn read_records(paths: &[PathBuf]) -> Result<Vec<Located>, AuditError> {
    let mut out = Vec::new();
    for path in crate::expand(paths)? {
        let text = std::fs::read(&path).map_err(|e| AuditError::io(&path, "cannot read", e))?;
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            // `"t":"rec"` sits at a fixed place in the canonical form; a
            // cheap test before parsing.
            if !line.windows(10).take(120).any(|w| w == b"\"t\":\"rec\",") {
                continue;
            }
            let record: Record = serde_json::from_slice(line).map_err(|_| AuditError::Record {
                file: path.clone(),
                line: index + 1,
            })?;
            out.push(Located {
                file: path.clone(),
                line: index + 1,
                record,
            });
        }
    }
    Ok(out)
}

/// What a record must match; empty matches everything.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Filter {
    /// The principal's subject, in the clear or HMAC'd.
    pub subject: Option<String>,
    /// Hashes `subject` too, for logs that hold HMAC'd subjects.
    pub hasher: Option<IdentifierHasher>,
    /// The product.
    pub product: Option<String>,
    /// A class some field of the response had.
    pub class: Option<String>,
    /// An action some field got.
    pub action: Option<String>,
    /// The decision.
    pub decision: Option<Decision>,
    /// At or after.
    pub since: Option<SystemTime>,
    /// Before.
    pub until: Option<SystemTime>,
}

impl Filter {
    /// Whether `record` matches.
    pub fn matches(&self, record: &Record) -> bool {
        if let Some(subject) = &self.subject {
            let Some(principal) = &record.principal else {
                return false;
            };
            let hashed = self.hasher.as_ref().map(|h| h.hash(subject));
            if principal.subject != *subject && Some(&principal.subject) != hashed.as_ref() {
                return false;
            }
        }
        if self
            .product
            .as_ref()
            .is_some_and(|p| record.product.as_ref() != Some(p))
        {
            return false;
        }
        if let Some(class) = &self.class
            && !record.fields.iter().any(|f| &f.class == class)
        {
            return false;
        }
        if let Some(action) = &self.action
            && !record.fields.iter().any(|f| &f.action == action)
        {
            return false;
        }
        if self.decision.is_some_and(|d| d != record.decision) {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(time) = parse_time(&record.time) else {
                return false;
            };
            if self.since.is_some_and(|since| time < since)
                || self.until.is_some_and(|until| time >= until)
            {
                return false;
            }
        }
        true
    }
}

/// Parses an RFC 3339 time (as records and the command line write it).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim()).ok()
}

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Aligned columns, for people.
    Table,
    /// One record per line, as in the log (without the chain's members).
    Json,
    /// CSV with a header line.
    Csv,
}

const COLUMNS: [&str; 10] = [
    "time", "decision", "status", "subject", "roles", "purpose", "product", "method", "path",
    "fields",
];

fn columns(record: &Record) -> [String; 10] {
    let (subject, roles) = record.principal.as_ref().map_or_else(
        || ("-".to_owned(), "-".to_owned()),
        |p| (p.subject.clone(), p.roles.join(",")),
    );
    let decision = match &record.reason {
        Some(reason) => format!("{}:{reason}", record.decision.as_str()),
        None => record.decision.as_str().to_owned(),
    };
    let fields = record
        .fields
        .iter()
        .map(|f| {
            // Values found in free text are marked apart from a classified
            // field of the same class.
            let text = if f.is_found_in_text() { "(text)" } else { "" };
            format!("{}{text}={}/{}x{}", f.class, f.action, f.treatment, f.count)
        })
        .collect::<Vec<_>>()
        .join(" ");
    [
        record.time.clone(),
        decision,
        record.status.to_string(),
        subject,
        roles,
        record.purpose.clone().unwrap_or_else(|| "-".to_owned()),
        record.product.clone().unwrap_or_else(|| "-".to_owned()),
        record.method.clone(),
        record.path.clone(),
        if fields.is_empty() {
            "-".to_owned()
        } else {
            fields
        },
    ]
}

/// Prints `records` in `format`.
pub fn write_records(
    records: &[&Record],
    format: Format,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            for record in records {
                serde_json::to_writer(&mut *out, record)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            writeln!(out, "{}", COLUMNS.join(","))?;
            for record in records {
                let row: Vec<String> = columns(record).iter().map(|c| csv_field(c)).collect();
                writeln!(out, "{}", row.join(","))?;
            }
        }
        Format::Table => {
            let rows: Vec<[String; 10]> = records.iter().map(|r| columns(r)).collect();
            let mut widths = COLUMNS.map(str::len);
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count().min(60));
                }
            }
            let print = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
                let line: Vec<String> = cells
                    .iter()
                    .zip(widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                writeln!(out, "{}", line.join("  ").trim_end())
            };
            print(out, &COLUMNS)?;
            for row in &rows {
                print(out, &row.each_ref().map(String::as_str))?;
            }
            writeln!(out, "({} records)", rows.len())?;
        }
    }
    Ok(())
}

fn csv_field(text: &str) -> String {
    // A cell starting with a formula character is quoted and prefixed, so a
    // spreadsheet does not evaluate a path from the log.
    let needs_guard = text.starts_with(['=', '+', '-', '@']) && text != "-";
    if needs_guard || text.contains([',', '"', '\n', '\r']) {
        let guarded = if needs_guard {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FieldTreatment, Principal};

    fn record(subject: &str, time: &str) -> Record {
        let mut r = Record::new(
            time.into(),
            "r".into(),
            "i".into(),
            "GET".into(),
            "/c".into(),
        );
        r.principal = Some(Principal::new(
            subject.into(),
            "jwt".into(),
            vec!["a".into()],
        ));
        r.product = Some("customers".into());
        r.fields.push(FieldTreatment::new(
            "$.e".into(),
            "email".into(),
            "reveal".into(),
            "kept".into(),
            2,
        ));
        r
    }

    #[test]
    fn values_found_in_text_match_their_class_and_are_marked() {
        let mut r = record("alice", "2026-11-25T09:00:00Z");
        r.fields.push(FieldTreatment::new(
            crate::FOUND_IN_TEXT.into(),
            "card_number".into(),
            "reveal".into(),
            "kept".into(),
            1,
        ));
        let f = Filter {
            class: Some("card_number".into()),
            ..Filter::default()
        };
        assert!(f.matches(&r));
        assert_eq!(
            columns(&r)[9],
            "email=reveal/keptx2 card_number(text)=reveal/keptx1"
        );
    }

    #[test]
    fn filters_combine() {
        let r = record("alice", "2026-11-25T09:00:00Z");
        let mut f = Filter::default();
        assert!(f.matches(&r));
        f.subject = Some("alice".into());
        f.class = Some("email".into());
        f.action = Some("reveal".into());
        f.since = parse_time("2026-11-25T08:00:00Z");
        f.until = parse_time("2026-11-25T10:00:00Z");
        assert!(f.matches(&r));
        f.decision = Some(Decision::Refused);
        assert!(!f.matches(&r));
        f.decision = None;
        f.until = parse_time("2026-11-25T09:00:00Z");
        assert!(!f.matches(&r));
    }

    #[test]
    fn a_subject_matches_its_hmac() {
        let hasher = IdentifierHasher::new(&[3; 32]).unwrap();
        let r = record(&hasher.hash("alice"), "2026-11-25T09:00:00Z");
        let mut f = Filter {
            subject: Some("alice".into()),
            ..Filter::default()
        };
        assert!(!f.matches(&r));
        f.hasher = Some(hasher);
        assert!(f.matches(&r));
    }

    #[test]
    fn csv_quotes_and_guards() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "\"'=cmd()\"");
        assert_eq!(csv_field("-"), "-");
        let r = record("alice", "2026-11-25T09:00:00Z");
        let mut out = Vec::new();
        write_records(&[&r], Format::Csv, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("time,decision,status,subject"));
        assert!(text.contains("email=reveal/keptx2"), "{text}");
    }
}
