//! The verifier: proves a log complete and untouched, or says exactly where
//! it is not.
//!
//! Given the files of a log (any order, any number of instances), it groups
//! them by instance, orders each instance's files by their first seq, and
//! checks, line by line: that each line is whole (ends in `\n`) and a valid
//! audit line; that its `seq` follows the previous one (a line deleted,
//! inserted, or moved shows here); that its `prev` is the SHA-256 of the
//! previous line (a modified line shows here, at the line after it); that
//! each checkpoint's signature is valid under the given public key; that
//! each file starts with an `open` line naming its predecessor, whose last
//! line it continues (a file removed, or lines spliced between files, shows
//! here); and that the log ends with the final checkpoint written at
//! shutdown (a truncated tail shows here). A `gap` line (records lost while
//! the sink was failing) is reported as a problem too: the log is not
//! complete.
//!
//! After a problem it resynchronizes on the line found, so that each
//! problem is reported once, at its place, rather than every line after it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use crate::{
    AuditError,
    keys::PublicKey,
    line::{Head, Link, checkpoint_signature_ok, genesis, hex, sha256},
    record::SCHEMA_VERSION,
};

/// One problem, at its place: displayed `FILE:LINE: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// What a verification found.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Report {
    /// Files read.
    pub files: usize,
    /// Access records.
    pub records: u64,
    /// Checkpoints with a valid signature.
    pub checkpoints: u64,
    /// Per instance: the seq of the last checkpoint with a valid signature.
    pub last_signed: BTreeMap<String, u64>,
    /// Everything wrong, in file and line order per instance.
    pub problems: Vec<Problem>,
    /// Verifying a live log ([`Options::live`]): per instance, how many
    /// lines follow its last signed checkpoint (not provable until the
    /// next one).
    pub unsigned_tail: BTreeMap<String, u64>,
}

/// How to verify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The log is still being written: do not require the final
    /// checkpoint; count the lines after the last signed checkpoint
    /// instead ([`Report::unsigned_tail`]).
    pub live: bool,
}

impl Options {
    /// Options for a log the gateway is still writing.
    pub fn live() -> Self {
        Self { live: true }
    }
}

impl Report {
    /// Whether the log is complete and untouched.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A log file's content, as read.
struct LogFile {
    path: PathBuf,
    /// The content when given in memory; `None`: read from `path` when its
    /// turn comes (one file in memory at a time).
    bytes: Option<Vec<u8>>,
}

/// Verifies the log files at `paths` (directories are read for their
/// `*.jsonl` files) with `key`, one file in memory at a time. I/O errors
/// are errors; everything about the content is in the report.
pub fn verify_paths(paths: &[PathBuf], key: &PublicKey) -> Result<Report, AuditError> {
    verify_paths_with(paths, key, Options::default())
}

/// [`verify_paths`] with `options`.
pub fn verify_paths_with(
    paths: &[PathBuf],
    key: &PublicKey,
    options: Options,
) -> Result<Report, AuditError> {
    let mut files = Vec::new();
    for path in expand(paths)? {
        let first = first_line(&path).map_err(|e| AuditError::io(&path, "cannot read", e))?;
        files.push((path, first, None));
    }
    verify(files, key, options)
}

/// The first line of a file (at most 64 KiB of it).
fn first_line(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)?
        .take(64 * 1024)
        .read_to_end(&mut head)?;
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    head.truncate(end);
    Ok(head)
}

/// The log files among `paths`: files as given, directories' `*.jsonl`
/// files, sorted.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, AuditError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            for entry in
                std::fs::read_dir(path).map_err(|e| AuditError::io(path, "cannot list", e))?
            {
                let entry = entry.map_err(|e| AuditError::io(path, "cannot list", e))?;
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "jsonl") {
                    found.push(p);
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Verifies log files given with their content; see the module docs.
pub fn verify_files(files: Vec<(PathBuf, Vec<u8>)>, key: &PublicKey) -> Report {
    let files = files
        .into_iter()
        .map(|(path, bytes)| {
            let first = bytes
                .split(|&b| b == b'\n')
                .next()
                .unwrap_or_default()
                .to_vec();
            (path, first, Some(bytes))
        })
        .collect();
    verify(files, key, Options::default()).expect("files in memory are not read")
}

/// `files`: each file's path, first line and (if in memory) content.
fn verify(
    files: Vec<(PathBuf, Vec<u8>, Option<Vec<u8>>)>,
    key: &PublicKey,
    options: Options,
) -> Result<Report, AuditError> {
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    // instance -> (first seq, file)
    let mut instances: BTreeMap<String, Vec<(u64, LogFile)>> = BTreeMap::new();
    for (path, first, bytes) in files {
        match serde_json::from_slice::<Head<'_>>(&first) {
            Ok(head) if head.t == "open" => {
                let instance = head.instance.as_deref().unwrap_or_default().to_owned();
                let seq = head.seq;
                instances
                    .entry(instance)
                    .or_default()
                    .push((seq, LogFile { path, bytes }));
            }
            _ => report.problems.push(Problem {
                file: path,
                line: 1,
                message: "the file does not start with an audit log's `open` line: it was modified, or its start was cut off".to_owned(),
            }),
        }
    }
    for (instance, mut files) in instances {
        files.sort_by_key(|(seq, _)| *seq);
        Instance::new(&instance, key, &mut report).check(&files, options)?;
    }
    Ok(report)
}

/// The state of one instance's chain as the verifier walks it.
struct Instance<'r> {
    name: &'r str,
    key: &'r PublicKey,
    report: &'r mut Report,
    expected_seq: u64,
    prev: Link,
    /// The previous file's recorded name.
    previous_file: Option<String>,
    /// The file being read (or last read).
    file: PathBuf,
    /// The last line seen: line number, and whether it is the final
    /// checkpoint.
    last: Option<(usize, bool)>,
    last_signed: Option<u64>,
    /// The seq of the last line seen.
    last_seq: Option<u64>,
}

impl<'r> Instance<'r> {
    fn new(name: &'r str, key: &'r PublicKey, report: &'r mut Report) -> Self {
        Self {
            name,
            key,
            report,
            expected_seq: 0,
            prev: genesis(name),
            previous_file: None,
            file: PathBuf::new(),
            last: None,
            last_signed: None,
            last_seq: None,
        }
    }

    fn problem(&mut self, file: &Path, line: usize, message: String) {
        self.report.problems.push(Problem {
            file: file.to_owned(),
            line,
            message,
        });
    }

    fn check(mut self, files: &[(u64, LogFile)], options: Options) -> Result<(), AuditError> {
        for (index, (_, file)) in files.iter().enumerate() {
            match &file.bytes {
                Some(bytes) => self.check_file(&file.path, bytes, index == 0),
                None => {
                    let bytes = std::fs::read(&file.path)
                        .map_err(|e| AuditError::io(&file.path, "cannot read", e))?;
                    self.check_file(&file.path, &bytes, index == 0);
                }
            }
        }
        match self.last.take() {
            Some((_, true)) => {}
            Some(_) if options.live => {
                let tail = match (self.last_seq, self.last_signed) {
                    (Some(last), Some(signed)) => last - signed,
                    (Some(last), None) => last + 1,
                    _ => 0,
                };
                self.report.unsigned_tail.insert(self.name.to_owned(), tail);
            }
            Some((line, false)) => {
                let file = std::mem::take(&mut self.file);
                let signed = self
                    .last_signed
                    .map_or("no checkpoint at all".to_owned(), |s| {
                        format!("the last signed line is seq {s}")
                    });
                self.problem(
                    &file,
                    line,
                    format!(
                        "the log of instance {:?} does not end with the final checkpoint ({signed}): its tail was truncated, or the gateway is still running or did not shut down cleanly",
                        self.name
                    ),
                );
            }
            None => {}
        }
        if let Some(seq) = self.last_signed {
            self.report.last_signed.insert(self.name.to_owned(), seq);
        }
        Ok(())
    }

    fn check_file(&mut self, path: &Path, bytes: &[u8], first_file: bool) {
        path.clone_into(&mut self.file);
        let mut start = 0;
        let mut number = 0;
        while start < bytes.len() {
            number += 1;
            let Some(len) = bytes[start..].iter().position(|&b| b == b'\n') else {
                self.problem(
                    path,
                    number,
                    "the last line is incomplete (no line end): the file was truncated or appended to".to_owned(),
                );
                self.last = None;
                return;
            };
            let line = &bytes[start..start + len];
            start += len + 1;
            self.check_line(path, number, line, first_file);
        }
        if number == 0 {
            self.problem(path, 0, "the file is empty".to_owned());
        }
    }

    fn check_line(&mut self, path: &Path, number: usize, line: &[u8], first_file: bool) {
        let link = sha256(line);
        let head = match serde_json::from_slice::<Head<'_>>(line) {
            Ok(head) => head,
            Err(_) => {
                self.problem(
                    path,
                    number,
                    "not a valid audit line (modified, or two lines run together)".to_owned(),
                );
                // Resynchronize after it: the next line's `prev` names it.
                self.expected_seq += 1;
                self.prev = link;
                self.last = Some((number, false));
                return;
            }
        };
        let mut ok = true;
        if head.seq != self.expected_seq {
            ok = false;
            let message = if head.seq > self.expected_seq {
                format!(
                    "seq {} where {} was expected: {} line(s) before this one were deleted",
                    head.seq,
                    self.expected_seq,
                    head.seq - self.expected_seq
                )
            } else {
                format!(
                    "seq {} where {} was expected: this line was inserted, duplicated or moved",
                    head.seq, self.expected_seq
                )
            };
            self.problem(path, number, message);
        } else if head.prev != hex(&self.prev) {
            ok = false;
            let message = if number == 1 && !first_file {
                "this file does not continue the previous file's last line: lines were spliced, or the previous file was modified or truncated".to_owned()
            } else if number == 1 {
                "the first line does not start the chain: earlier files are missing, or it was modified".to_owned()
            } else {
                "does not follow the previous line: the previous line was modified, or a line was removed or inserted here".to_owned()
            };
            self.problem(path, number, message);
        }
        match &*head.t {
            "open" if number == 1 => {
                let named = head.previous_file.as_deref().map(str::to_owned);
                if named != self.previous_file {
                    let message = match (&named, &self.previous_file) {
                        (Some(n), _) if first_file => format!(
                            "the log starts in the middle: its previous file {n:?} was not given (or was deleted)"
                        ),
                        (Some(n), Some(p)) => format!(
                            "this file continues {n:?}, but the file before it is {p:?}: a file is missing or was replaced"
                        ),
                        _ => "this file says it starts a log, but another file comes before it".to_owned(),
                    };
                    self.problem(path, number, message);
                }
                self.previous_file = head.file.as_deref().map(str::to_owned);
            }
            "open" => {
                self.problem(
                    path,
                    number,
                    "an `open` line in the middle of a file: lines were spliced from another file"
                        .to_owned(),
                );
            }
            _ if number == 1 => {
                self.problem(
                    path,
                    number,
                    "the file does not start with an `open` line: its start was cut off".to_owned(),
                );
            }
            "rec" => {
                self.report.records += 1;
                if head.v != Some(SCHEMA_VERSION) {
                    self.problem(
                        path,
                        number,
                        format!("record schema version {:?} is not {SCHEMA_VERSION}", head.v),
                    );
                }
            }
            "ckpt" => match checkpoint_signature_ok(line, self.key) {
                Some(true) => {
                    self.report.checkpoints += 1;
                    if ok {
                        self.last_signed = Some(head.seq);
                    }
                    if head.instance.as_deref() != Some(self.name) {
                        self.problem(path, number, "a checkpoint of another instance".to_owned());
                    }
                }
                Some(false) => self.problem(
                    path,
                    number,
                    "checkpoint signature is not valid for this public key: the checkpoint (or the key) is not the gateway's".to_owned(),
                ),
                None => self.problem(
                    path,
                    number,
                    "checkpoint without a well-formed signature".to_owned(),
                ),
            },
            "gap" => self.problem(
                path,
                number,
                format!(
                    "{} record(s) were lost while the audit sink could not write (written by the gateway)",
                    head.lost.unwrap_or(0)
                ),
            ),
            other => {
                let other = other.chars().take(16).collect::<String>();
                self.problem(path, number, format!("unknown line kind {other:?}"));
            }
        }
        let is_final = head.t == "ckpt" && head.is_final;
        self.last = Some((number, is_final));
        self.last_seq = Some(head.seq);
        self.expected_seq = head.seq + 1;
        self.prev = link;
    }
}
