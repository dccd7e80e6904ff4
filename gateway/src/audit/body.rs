//! The record of one request as it completes: [`Pending`] holds what is
//! known from the start; [`AuditBody`] wraps the response body, counts the
//! bytes sent and, at its end, writes the record (and, failing closed,
//! waits for it to be durable before letting the body end).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use maskgate_audit::{Commit, CommitError, Decision, Outcome, Record};

use super::{AuditFacts, Auditor, principal};
use crate::{
    body::{Body, BoxError},
    error::AuditReason,
};

/// A request's record until it is written; writes it (without waiting) if
/// dropped unwritten: the client went away before the response ended.
pub(crate) struct Pending {
    pub(super) auditor: Arc<Auditor>,
    pub(super) facts: AuditFacts,
    pub(super) record: Record,
    pub(super) start: Instant,
    pub(super) bytes_in: Arc<AtomicU64>,
    pub(super) bytes_out: u64,
    pub(super) status: u16,
    pub(super) reason: Option<AuditReason>,
    pub(super) written: bool,
}

impl Pending {
    /// The complete record.
    fn complete(&mut self, outcome: Outcome) -> Record {
        self.written = true;
        let facts = self.facts.take();
        let mut record = std::mem::replace(
            &mut self.record,
            Record::new(
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
        );
        record.product = facts.product.as_deref().map(str::to_owned);
        record.route = facts.route.as_deref().map(str::to_owned);
        record.principal = facts.caller.as_ref().map(|c| principal(&self.auditor, c));
        record.purpose = facts.purpose.as_deref().map(str::to_owned);
        record.upstream_status = facts.upstream_status;
        record.status = self.status;
        record.outcome = outcome;
        (record.decision, record.reason) = match (&self.reason, facts.masking_failed) {
            (Some(reason), _) => (
                if reason.refused {
                    Decision::Refused
                } else {
                    Decision::Failed
                },
                Some(reason.reason.clone()),
            ),
            (None, true) => (Decision::Failed, Some("masking_failed".to_owned())),
            (None, false) if outcome == Outcome::Aborted => {
                (Decision::Allowed, Some("response_aborted".to_owned()))
            }
            (None, false) => (Decision::Allowed, None),
        };
        record.fields = facts.fields;
        record.unclassified = facts.unclassified;
        record.leases = facts
            .leases
            .iter()
            .map(|lease| self.auditor.hasher.hash(lease))
            .collect();
        record.bytes_in = self.bytes_in.load(Ordering::Relaxed);
        record.bytes_out = self.bytes_out;
        record.latency_us = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        record
    }

    /// Writes the record; the commit says when it is durable.
    fn commit(&mut self, outcome: Outcome) -> Commit {
        let record = self.complete(outcome);
        self.auditor.writer.append(&record)
    }

    /// Writes the record without waiting for it.
    pub(super) fn detach(&mut self, outcome: Outcome) {
        let record = self.complete(outcome);
        self.auditor.writer.append_detached(&record);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.written {
            self.detach(Outcome::ClientGone);
        }
    }
}

/// The audit log could not make the record durable: the body fails.
#[derive(Debug, thiserror::Error)]
#[error("the audit record could not be written ({0}): response aborted")]
pub(crate) struct AuditFailed(CommitError);

/// A response body whose end waits for its audit record; see the module
/// docs.
pub(crate) struct AuditBody {
    inner: Option<Body>,
    pending: Option<Pending>,
    commit: Option<Commit>,
    /// Whether the size is withheld (failing closed: the end must not be
    /// implied by a length).
    hide_size: bool,
    done: bool,
}

impl AuditBody {
    pub(super) fn new(inner: Body, pending: Pending, hide_size: bool) -> Self {
        Self {
            inner: Some(inner),
            pending: Some(pending),
            commit: None,
            hide_size,
            done: false,
        }
    }
}

impl HttpBody for AuditBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(commit) = this.commit.as_mut() {
                let result = std::task::ready!(Pin::new(commit).poll(cx));
                this.commit = None;
                this.done = true;
                return Poll::Ready(match result {
                    Ok(()) => None,
                    Err(error) => Some(Err(Box::new(AuditFailed(error)))),
                });
            }
            let Some(inner) = this.inner.as_mut().filter(|_| !this.done) else {
                return Poll::Ready(None);
            };
            match std::task::ready!(Pin::new(inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let (Some(data), Some(pending)) = (frame.data_ref(), this.pending.as_mut()) {
                        pending.bytes_out += data.len() as u64;
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Some(Err(error)) => {
                    this.done = true;
                    // The inner body reports what it knows first (a
                    // rewrite failure) as it goes.
                    this.inner = None;
                    if let Some(mut pending) = this.pending.take() {
                        pending.detach(Outcome::Aborted);
                    }
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.inner = None;
                    match this.pending.take() {
                        Some(mut pending) => this.commit = Some(pending.commit(Outcome::Complete)),
                        None => this.done = true,
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.commit.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) if !self.hide_size => inner.size_hint(),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for AuditBody {
    fn drop(&mut self) {
        // The inner body first: a rewriter reports its counts when dropped.
        let ended = self.inner.take().is_none_or(|inner| inner.is_end_stream());
        if let Some(mut pending) = self.pending.take() {
            pending.detach(if ended {
                Outcome::Complete
            } else {
                Outcome::ClientGone
            });
        }
    }
}

/// A request body that counts the bytes read from the client (when
/// audited: without a counter it only passes frames on).
pub(crate) struct CountingBody<B> {
    inner: B,
    count: Option<Arc<AtomicU64>>,
}

impl<B> CountingBody<B> {
    pub(super) fn new(inner: B, count: Option<Arc<AtomicU64>>) -> Self {
        Self { inner, count }
    }
}

impl<B> HttpBody for CountingBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let (Some(Ok(frame)), Some(count)) = (&frame, &this.count)
            && let Some(data) = frame.data_ref()
        {
            count.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
