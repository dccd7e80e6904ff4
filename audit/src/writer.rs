//! The durable writer: one dedicated thread per log, fed by a channel, with
//! group commit.
//!
//! [`Writer::append`] hands a record over and returns a [`Commit`]: a
//! future that resolves once the record is on disk (written and
//! `fdatasync`ed) or once that has failed. The thread takes whatever is
//! queued, waits at most `fsync_interval` since the last sync for more,
//! writes the batch with one `write` and one `fdatasync`, and resolves
//! every commit of the batch. It needs no async runtime: the gateway's
//! current-thread runtimes await the commits, the thread blocks on I/O.
//!
//! With `fail_closed = false` a commit resolves as soon as the record is
//! queued.
//!
//! When a write fails (disk full, permission lost), the file is cut back to
//! its last durable length, the batch's commits fail,
//! [`is_available`](Writer::is_available) turns false, and the records are
//! kept in a bounded buffer and retried with backoff (10 ms doubling to
//! 1 s); records appended meanwhile are buffered too (their commits fail at
//! once). Once a write succeeds, the buffer is written and the writer is
//! available again. If the buffer overflows, the records that do not fit
//! are lost, and a `gap` line saying how many (and when) is written, then a
//! checkpoint: the verifier reports it.
//!
//! Files: the log is a directory of files named `INSTANCE.SEQ.jsonl` (SEQ
//! the 12-digit seq of the file's first line), created append-only, mode
//! 0640. A file is rotated when it reaches `rotate_size` or gets older than
//! `rotate_interval`: it ends with a checkpoint, and the next file's first
//! line (`open`) names it and continues its chain. A writer started for an
//! instance that already has files continues that chain in a new file.
//! Checkpoints are written every `checkpoint_every` records, every
//! `checkpoint_interval` (when records were written since the last one),
//! at rotation, after a gap, and at [`shutdown`](Writer::shutdown), which
//! writes the final one.

use std::{
    collections::VecDeque,
    fs::{self, File, OpenOptions},
    future::Future,
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    task::{Context, Poll},
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use serde::Serialize;
use tokio::sync::oneshot;

use crate::{
    AuditError, Record,
    keys::SigningKey,
    line::{Chain, sha256},
    record::format_time,
};

/// How a writer works; see the module docs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WriterConfig {
    /// The directory of the log's files (created if missing).
    pub dir: PathBuf,
    /// This gateway instance's id: `[A-Za-z0-9._-]`, 1 to 64 characters.
    pub instance: String,
    /// Whether a commit waits for the record to be durable.
    pub fail_closed: bool,
    /// The longest a record waits for the next group commit.
    pub fsync_interval: Duration,
    /// Rotate a file once it is this large, in bytes.
    pub rotate_size: u64,
    /// Rotate a file once it is this old.
    pub rotate_interval: Duration,
    /// A checkpoint after this many records.
    pub checkpoint_every: u64,
    /// A checkpoint at least this often while records are written.
    pub checkpoint_interval: Duration,
    /// How many records are kept while the sink is failing.
    pub max_buffered: usize,
}

impl WriterConfig {
    /// Defaults: fail closed, 2 ms group commit, 100 MiB / 24 h rotation,
    /// a checkpoint every 1000 records or 10 s, 100,000 records buffered.
    pub fn new(dir: impl Into<PathBuf>, instance: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            instance: instance.into(),
            fail_closed: true,
            fsync_interval: Duration::from_millis(2),
            rotate_size: 100 * 1024 * 1024,
            rotate_interval: Duration::from_secs(24 * 3600),
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(10),
            max_buffered: 100_000,
        }
    }
}

/// Whether `id` can name an instance (and so a file).
pub fn valid_instance_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !id.starts_with('.')
}

/// Why a commit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The sink cannot write now; the record is buffered for a retry.
    #[error("the audit log cannot be written at the moment")]
    Unavailable,
    /// The sink's buffer is full: the record is lost (a gap line counts it).
    #[error("the audit log's buffer is full: record lost")]
    Lost,
    /// The writer has stopped.
    #[error("the audit writer has stopped")]
    Stopped,
}

type Responder = oneshot::Sender<Result<(), CommitError>>;

enum Msg {
    Append(Vec<u8>, Option<Responder>),
    Shutdown,
}

/// A record's way to durability: resolves `Ok(())` once it is on disk (or
/// at once when not failing closed).
#[derive(Debug)]
#[must_use = "a commit does nothing unless awaited; drop it to not wait"]
pub struct Commit(
    Option<oneshot::Receiver<Result<(), CommitError>>>,
    Option<CommitError>,
);

impl Commit {
    /// A commit that has already resolved.
    pub fn ready(result: Result<(), CommitError>) -> Self {
        Self(None, result.err())
    }
}

impl Future for Commit {
    type Output = Result<(), CommitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.0.as_mut() {
            None => Poll::Ready(self.1.map_or(Ok(()), Err)),
            Some(receiver) => Pin::new(receiver)
                .poll(cx)
                .map(|r| r.unwrap_or(Err(CommitError::Stopped))),
        }
    }
}

/// What a writer has written, as [`Writer::shutdown`] reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Written {
    /// Access records written.
    pub records: u64,
    /// Records lost to buffer overflow.
    pub lost: u64,
    /// The seq of the last line (the final checkpoint).
    pub last_seq: u64,
}

/// The audit log's writer; cheap to clone (all clones feed one thread).
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

struct Shared {
    /// Read-locked by every append (senders are `Sync`); write-locked once,
    /// by shutdown.
    tx: RwLock<Option<mpsc::Sender<Msg>>>,
    available: AtomicBool,
    fail_closed: bool,
    records: AtomicU64,
    thread: Mutex<Option<JoinHandle<Result<Written, AuditError>>>>,
    instance: String,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("instance", &self.shared.instance)
            .field("available", &self.is_available())
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Opens the log (continuing the instance's chain if it has files
    /// there) and starts the writer thread.
    pub fn start(config: WriterConfig, key: SigningKey) -> Result<Self, AuditError> {
        if !valid_instance_id(&config.instance) {
            return Err(AuditError::Config(
                "the instance id must be 1 to 64 of A-Z a-z 0-9 . _ - (not starting with .)"
                    .to_owned(),
            ));
        }
        if config.checkpoint_every == 0 || config.max_buffered == 0 {
            return Err(AuditError::Config(
                "checkpoint_every and the buffer must be at least 1".to_owned(),
            ));
        }
        fs::create_dir_all(&config.dir)
            .map_err(|e| AuditError::io(&config.dir, "cannot create the audit directory", e))?;
        let (chain, previous_file) = resume(&config.dir, &config.instance)?;
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            tx: RwLock::new(Some(tx)),
            available: AtomicBool::new(true),
            fail_closed: config.fail_closed,
            records: AtomicU64::new(0),
            thread: Mutex::new(None),
            instance: config.instance.clone(),
        });
        let mut sink = Sink {
            chain,
            previous_file,
            file: None,
            key,
            pending: VecDeque::new(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            last_sync: Instant::now(),
            lost: 0,
            lost_since: None,
            records: 0,
            failing: false,
            backoff: RETRY_MIN,
            next_retry: Instant::now(),
            buf: Vec::with_capacity(1 << 16),
            shared: shared.clone(),
            config,
        };
        // Open the first file now, so that a log that cannot be written
        // fails at start-up, not at the first request.
        sink.ensure_file()
            .map_err(|e| AuditError::io(&sink.config.dir, "cannot write the audit log", e))?;
        let thread = std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || sink.run(&rx))
            .map_err(|e| AuditError::io("audit-writer", "cannot start the thread", e))?;
        *shared.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        Ok(Self { shared })
    }

    /// Queues `record`; see [`Commit`].
    pub fn append(&self, record: &Record) -> Commit {
        self.append_serialized(serde_json::to_vec(record).expect("records serialize"))
    }

    /// Queues a record already serialized as a JSON object.
    fn append_serialized(&self, body: Vec<u8>) -> Commit {
        let guard = self.shared.tx.read().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = guard.as_ref() else {
            return Commit::ready(Err(CommitError::Stopped));
        };
        if self.shared.fail_closed {
            let (reply, wait) = oneshot::channel();
            match tx.send(Msg::Append(body, Some(reply))) {
                Ok(()) => Commit(Some(wait), None),
                Err(_) => Commit::ready(Err(CommitError::Stopped)),
            }
        } else {
            match tx.send(Msg::Append(body, None)) {
                Ok(()) => Commit::ready(Ok(())),
                Err(_) => Commit::ready(Err(CommitError::Stopped)),
            }
        }
    }

    /// Queues `record` without waiting for it: for answers that must not
    /// wait for the sink (the 503 of an unavailable sink).
    pub fn append_detached(&self, record: &Record) {
        let body = serde_json::to_vec(record).expect("records serialize");
        if let Some(tx) = self
            .shared
            .tx
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = tx.send(Msg::Append(body, None));
        }
    }

    /// Whether the sink is writing: false while it is failing (and after
    /// shutdown). Cheap (one atomic load).
    pub fn is_available(&self) -> bool {
        self.shared.available.load(Ordering::Acquire)
    }

    /// Whether commits wait for durability.
    pub fn fail_closed(&self) -> bool {
        self.shared.fail_closed
    }

    /// The instance id.
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// Records written so far.
    pub fn records_written(&self) -> u64 {
        self.shared.records.load(Ordering::Relaxed)
    }

    /// Writes what is queued, the final checkpoint, and stops the thread.
    /// Blocks until done. Later appends fail with
    /// [`CommitError::Stopped`]; a second call returns
    /// [`AuditError::Stopped`].
    pub fn shutdown(&self) -> Result<Written, AuditError> {
        let tx = self
            .shared
            .tx
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(tx) = tx else {
            return Err(AuditError::Stopped);
        };
        let _ = tx.send(Msg::Shutdown);
        drop(tx);
        let thread = self
            .shared
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match thread.map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(AuditError::Stopped),
        }
    }
}

const RETRY_MIN: Duration = Duration::from_millis(10);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// How long shutdown keeps retrying a failing sink.
const SHUTDOWN_RETRY: Duration = Duration::from_secs(5);

/// The writer thread's state.
struct Sink {
    config: WriterConfig,
    key: SigningKey,
    /// The chain as durable on disk.
    chain: Chain,
    previous_file: Option<String>,
    file: Option<OpenFile>,
    /// Records not yet durable, oldest first.
    pending: VecDeque<(Vec<u8>, Option<Responder>)>,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    last_sync: Instant,
    lost: u64,
    lost_since: Option<SystemTime>,
    records: u64,
    failing: bool,
    backoff: Duration,
    next_retry: Instant,
    buf: Vec<u8>,
    shared: Arc<Shared>,
}

struct OpenFile {
    file: File,
    name: String,
    path: PathBuf,
    /// Durable length.
    len: u64,
    opened: Instant,
    /// Lines after the `open` line.
    lines: u64,
    /// A failed write could not be cut back.
    broken: bool,
}

#[derive(Serialize)]
struct OpenBody<'a> {
    instance: &'a str,
    file: &'a str,
    previous_file: Option<&'a str>,
    time: String,
    key: String,
}

#[derive(Serialize)]
struct CheckpointBody<'a> {
    instance: &'a str,
    time: String,
    reason: &'a str,
    records: u64,
    #[serde(rename = "final")]
    is_final: bool,
}

#[derive(Serialize)]
struct GapBody {
    lost: u64,
    since: String,
    until: String,
}

impl Sink {
    fn run(mut self, rx: &mpsc::Receiver<Msg>) -> Result<Written, AuditError> {
        let mut stopping = false;
        while !stopping {
            let wait = self
                .next_deadline()
                .saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(msg) => stopping |= self.take(msg),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stopping = true,
            }
            if !self.pending.is_empty() && !self.failing && !stopping {
                // Group commit: let more records join, up to the interval.
                let due = self.last_sync + self.config.fsync_interval;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            while let Ok(msg) = rx.try_recv() {
                stopping |= self.take(msg);
            }
            if self.failing && Instant::now() < self.next_retry && !stopping {
                continue;
            }
            self.work();
        }
        self.finish()
    }

    /// When the loop must wake without a message.
    fn next_deadline(&self) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        let mut deadline = far;
        if self.failing {
            deadline = deadline.min(self.next_retry);
        }
        if self.since_checkpoint > 0 {
            deadline = deadline.min(self.last_checkpoint + self.config.checkpoint_interval);
        }
        if let Some(file) = &self.file
            && file.lines > 0
        {
            deadline = deadline.min(file.opened + self.config.rotate_interval);
        }
        deadline
    }

    /// Takes a message; true on shutdown.
    fn take(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Append(body, reply) => {
                if self.pending.len() >= self.config.max_buffered {
                    self.lost += 1;
                    self.lost_since.get_or_insert_with(SystemTime::now);
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(CommitError::Lost));
                    }
                } else if self.failing {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(CommitError::Unavailable));
                    }
                    self.pending.push_back((body, None));
                } else {
                    self.pending.push_back((body, reply));
                }
                false
            }
            Msg::Shutdown => true,
        }
    }

    /// Rotates, writes the pending records, gap and checkpoints as due.
    fn work(&mut self) {
        let result = self
            .rotate_if_due()
            .and_then(|()| self.write_pending())
            .and_then(|()| {
                if self.since_checkpoint > 0
                    && self.last_checkpoint.elapsed() >= self.config.checkpoint_interval
                {
                    self.write_checkpoint("interval", false)
                } else {
                    Ok(())
                }
            });
        match result {
            Ok(()) => {
                if self.failing {
                    self.failing = false;
                    self.backoff = RETRY_MIN;
                    self.shared.available.store(true, Ordering::Release);
                }
            }
            Err(error) => self.failed(&error),
        }
    }

    fn failed(&mut self, error: &std::io::Error) {
        if !self.failing {
            // Only the kind: the message is the system's, and never data.
            eprintln!(
                "maskgate audit: cannot write the audit log ({:?}); refusing requests until it can",
                error.kind()
            );
        }
        self.failing = true;
        self.shared.available.store(false, Ordering::Release);
        for (_, reply) in &mut self.pending {
            if let Some(reply) = reply.take() {
                let _ = reply.send(Err(CommitError::Unavailable));
            }
        }
        self.next_retry = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(RETRY_MAX);
    }

    fn finish(mut self) -> Result<Written, AuditError> {
        let deadline = Instant::now() + SHUTDOWN_RETRY;
        loop {
            let result = self
                .write_pending()
                .and_then(|()| self.write_checkpoint("shutdown", true));
            match result {
                Ok(()) => break,
                Err(error) if Instant::now() < deadline => {
                    self.failed(&error);
                    std::thread::sleep(self.next_retry.saturating_duration_since(Instant::now()));
                }
                Err(error) => {
                    self.shared.available.store(false, Ordering::Release);
                    return Err(AuditError::io(
                        &self.config.dir,
                        "cannot write the final checkpoint",
                        error,
                    ));
                }
            }
        }
        self.shared.available.store(false, Ordering::Release);
        Ok(Written {
            records: self.records,
            lost: self.lost,
            last_seq: self.chain.next_seq.saturating_sub(1),
        })
    }

    fn rotate_if_due(&mut self) -> std::io::Result<()> {
        let due = self.file.as_ref().is_some_and(|f| {
            f.lines > 0
                && (f.len >= self.config.rotate_size
                    || f.opened.elapsed() >= self.config.rotate_interval)
        });
        if due {
            self.write_checkpoint("rotate", false)?;
            if let Some(file) = self.file.take() {
                self.previous_file = Some(file.name);
            }
        }
        Ok(())
    }

    /// Opens the next file and writes its `open` line, if no file is open.
    fn ensure_file(&mut self) -> std::io::Result<()> {
        if self.file.as_ref().is_some_and(|f| f.broken) {
            // Could not be cut back after a failed write: its tail is not
            // whole lines. The chain continues in a new file (the verifier
            // will point at the broken tail).
            let file = self.file.take().expect("checked");
            self.previous_file = Some(file.name);
        }
        if self.file.is_some() {
            return Ok(());
        }
        let name = format!("{}.{:012}.jsonl", self.config.instance, self.chain.next_seq);
        let path = self.config.dir.join(&name);
        // A file of that name exists only if a previous attempt created it
        // and could not write its first line: start it again.
        let exists_empty = fs::metadata(&path).is_ok_and(|m| m.len() == 0);
        if exists_empty {
            fs::remove_file(&path)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o640)
            .open(&path)?;
        if let Ok(dir) = File::open(&self.config.dir) {
            let _ = dir.sync_all();
        }
        let body = serde_json::to_vec(&OpenBody {
            instance: &self.config.instance,
            file: &name,
            previous_file: self.previous_file.as_deref(),
            time: format_time(SystemTime::now()),
            key: self.key.public_key().fingerprint(),
        })
        .expect("serializes");
        let mut chain = self.chain.clone();
        let mut line = Vec::new();
        chain.push("open", &body, &mut line);
        let mut open = OpenFile {
            file,
            name,
            path,
            len: 0,
            opened: Instant::now(),
            lines: 0,
            broken: false,
        };
        if let Err(error) = write_durably(&mut open, &line) {
            drop(open.file);
            let _ = fs::remove_file(&open.path);
            return Err(error);
        }
        self.chain = chain;
        self.file = Some(open);
        Ok(())
    }

    fn write_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() && self.lost == 0 {
            return Ok(());
        }
        self.ensure_file()?;
        let mut chain = self.chain.clone();
        let mut since_checkpoint = self.since_checkpoint;
        let mut checkpointed = false;
        self.buf.clear();
        let mut records = self.records;
        for (body, _) in &self.pending {
            chain.push("rec", body, &mut self.buf);
            records += 1;
            since_checkpoint += 1;
            if since_checkpoint >= self.config.checkpoint_every {
                push_checkpoint(
                    &mut chain,
                    &self.config.instance,
                    &self.key,
                    "count",
                    records,
                    false,
                    &mut self.buf,
                );
                since_checkpoint = 0;
                checkpointed = true;
            }
        }
        if self.lost > 0 {
            let gap = serde_json::to_vec(&GapBody {
                lost: self.lost,
                since: format_time(self.lost_since.unwrap_or_else(SystemTime::now)),
                until: format_time(SystemTime::now()),
            })
            .expect("serializes");
            chain.push("gap", &gap, &mut self.buf);
            push_checkpoint(
                &mut chain,
                &self.config.instance,
                &self.key,
                "gap",
                records,
                false,
                &mut self.buf,
            );
            since_checkpoint = 0;
            checkpointed = true;
        }
        let lines = chain.next_seq - self.chain.next_seq;
        let file = self.file.as_mut().expect("opened above");
        write_durably(file, &self.buf)?;
        file.lines += lines;
        self.last_sync = Instant::now();
        self.chain = chain;
        self.since_checkpoint = since_checkpoint;
        if checkpointed {
            self.last_checkpoint = Instant::now();
        }
        self.shared.records.store(records, Ordering::Relaxed);
        self.records = records;
        self.lost = 0;
        self.lost_since = None;
        for (_, reply) in self.pending.drain(..) {
            if let Some(reply) = reply {
                let _ = reply.send(Ok(()));
            }
        }
        Ok(())
    }

    fn write_checkpoint(&mut self, reason: &str, is_final: bool) -> std::io::Result<()> {
        self.ensure_file()?;
        let mut chain = self.chain.clone();
        self.buf.clear();
        push_checkpoint(
            &mut chain,
            &self.config.instance,
            &self.key,
            reason,
            self.records,
            is_final,
            &mut self.buf,
        );
        let file = self.file.as_mut().expect("opened above");
        write_durably(file, &self.buf)?;
        file.lines += 1;
        self.chain = chain;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }
}

fn push_checkpoint(
    chain: &mut Chain,
    instance: &str,
    key: &SigningKey,
    reason: &str,
    records: u64,
    is_final: bool,
    out: &mut Vec<u8>,
) {
    let body = serde_json::to_vec(&CheckpointBody {
        instance,
        time: format_time(SystemTime::now()),
        reason,
        records,
        is_final,
    })
    .expect("serializes");
    chain.push_signed(&body, key, out);
}

/// One write and one `fdatasync`; on failure the file is cut back to its
/// last durable length, so that a retry appends whole lines.
fn write_durably(file: &mut OpenFile, bytes: &[u8]) -> std::io::Result<()> {
    let result = file
        .file
        .write_all(bytes)
        .and_then(|()| file.file.sync_data());
    match result {
        Ok(()) => {
            file.len += bytes.len() as u64;
            Ok(())
        }
        Err(error) => {
            if file.file.set_len(file.len).is_err() {
                file.broken = true;
            }
            Err(error)
        }
    }
}

/// Where an instance's chain stands in `dir`: after the last line of its
/// last file, or at the start.
fn resume(dir: &Path, instance: &str) -> Result<(Chain, Option<String>), AuditError> {
    let mut last: Option<(u64, String)> = None;
    let entries = fs::read_dir(dir).map_err(|e| AuditError::io(dir, "cannot list", e))?;
    let prefix = format!("{instance}.");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(seq) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".jsonl"))
            .filter(|digits| digits.len() == 12)
            .and_then(|digits| digits.parse::<u64>().ok())
        else {
            continue;
        };
        if last.as_ref().is_none_or(|(s, _)| seq > *s) {
            last = Some((seq, name));
        }
    }
    let Some((_, name)) = last else {
        return Ok((Chain::start(instance), None));
    };
    let path = dir.join(&name);
    let line = last_line(&path).map_err(|e| AuditError::io(&path, "cannot read", e))?;
    let Some(line) = line else {
        return Ok((Chain::start(instance), None));
    };
    let head: crate::line::Head<'_> =
        serde_json::from_slice(&line).map_err(|_| AuditError::Key {
            path: path.clone(),
            message: "the last line is not an audit line: cannot continue the chain".to_owned(),
        })?;
    Ok((
        Chain {
            next_seq: head.seq + 1,
            prev: sha256(&line),
        },
        Some(name),
    ))
}

/// The last complete line of a file (without its `\n`).
fn last_line(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut window = 4096u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        // Drop a partial last line.
        let complete = match tail.iter().rposition(|&b| b == b'\n') {
            Some(end) => &tail[..end],
            None if start == 0 => return Ok(None),
            None => {
                window *= 4;
                continue;
            }
        };
        match complete.iter().rposition(|&b| b == b'\n') {
            Some(begin) => return Ok(Some(complete[begin + 1..].to_vec())),
            None if start == 0 => return Ok(Some(complete.to_vec())),
            None => window *= 4,
        }
    }
}
