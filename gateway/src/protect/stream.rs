//! A response body streamed through the masking rewriter.
//!
//! Each data frame from the product is fed to the rewriter and what it
//! writes is sent on; trailers pass. A rewriter error fails the body: hyper
//! then aborts the response (an HTTP/1.1 chunked body without its final
//! chunk, an HTTP/2 stream reset), so the client sees a broken transfer,
//! never a truncated body that looks complete.
//!
//! An audited response's rewriter reports its per-field counts (or its
//! failure) to the request's [`AuditFacts`] when it ends, fails or is
//! dropped.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use maskgate_masking::{Plan, Rewriter};

use crate::{
    audit::{AuditFacts, field_treatments},
    body::{Body, BoxError},
};

/// See the module docs.
pub(crate) struct RewriteBody {
    inner: Body,
    rewriter: Rewriter,
    /// Output not yet sent.
    pending: Option<Bytes>,
    done: bool,
    /// Where to report the counts, and the plan that names the fields.
    audit: Option<(AuditFacts, Arc<Plan>)>,
}

impl RewriteBody {
    pub(crate) fn new(inner: Body, rewriter: Rewriter) -> Self {
        Self {
            inner,
            rewriter,
            pending: None,
            done: false,
            audit: None,
        }
    }

    /// Reports to `facts` once done (see the module docs).
    pub(crate) fn audited(mut self, facts: Option<AuditFacts>, plan: &Arc<Plan>) -> Self {
        self.audit = facts.map(|facts| (facts, plan.clone()));
        self
    }

    fn report(&mut self, failed: bool) {
        if let Some((facts, plan)) = self.audit.take() {
            let (fields, unclassified) = field_treatments(self.rewriter.summary(), &plan);
            facts.update(|facts| {
                facts.fields = fields;
                facts.unclassified = unclassified;
                facts.masking_failed |= failed;
            });
        }
    }

    /// Reads until the rewriter has output (or the body ends), so that an
    /// invalid start of body is found before the response head is sent.
    pub(crate) async fn prime(&mut self) -> Result<(), BoxError> {
        while self.pending.is_none() && !self.done {
            match self.inner.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.feed(&data)?;
                    }
                }
                Some(Err(error)) => return Err(error),
                None => self.finish()?,
            }
        }
        Ok(())
    }

    fn feed(&mut self, data: &[u8]) -> Result<(), BoxError> {
        let mut out = Vec::with_capacity(data.len() + 64);
        if let Err(error) = self.rewriter.feed(data, &mut out) {
            self.report(true);
            return Err(error.into());
        }
        if !out.is_empty() {
            self.pending = Some(Bytes::from(out));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        let mut out = Vec::new();
        if let Err(error) = self.rewriter.finish(&mut out) {
            self.report(true);
            return Err(error.into());
        }
        self.done = true;
        self.report(false);
        if !out.is_empty() {
            self.pending = Some(Bytes::from(out));
        }
        Ok(())
    }
}

impl HttpBody for RewriteBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(out) = this.pending.take() {
                return Poll::Ready(Some(Ok(Frame::data(out))));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if let Err(error) = this.feed(&data) {
                            this.done = true;
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                Some(Err(error)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    if let Err(error) = this.finish() {
                        return Poll::Ready(Some(Err(error)));
                    }
                }
            }
        }
    }
}

impl Drop for RewriteBody {
    fn drop(&mut self) {
        // Ended early (the client went away, the product failed): what was
        // rewritten until then.
        self.report(false);
    }
}
