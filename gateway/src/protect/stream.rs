//! A response body streamed through the masking rewriter.
//!
//! Each data frame from the product is fed to the rewriter and what it
//! writes is sent on; trailers pass. A rewriter error fails the body: hyper
//! then aborts the response (an HTTP/1.1 chunked body without its final
//! chunk, an HTTP/2 stream reset), so the client sees a broken transfer,
//! never a truncated body that looks complete.
//!
//! Before the response head goes out, [`RewriteBody::prime`] rewrites up
//! to the first output, then whatever the product has sent already, up to
//! [`WHOLE_BODY`] of output. A body that ends within that (a small
//! response, the common case) goes out whole with its exact
//! `Content-Length` ([`RewriteBody::take_whole`]), and any failure in it is
//! a 502 rather than a broken transfer.
//!
//! A response's rewriter reports its per-field counts to the product's
//! metrics and, when audited, its counts (or its failure) to the request's
//! [`AuditFacts`], once, when it ends, fails or is dropped.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use futures_util::FutureExt;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use maskgate_masking::{Plan, Rewriter};

use crate::{
    audit::{AuditFacts, field_treatments},
    body::{Body, BoxError},
    metrics::MaskingMetrics,
};

/// The most rewritten output held back before the response head: a body
/// whose rewrite ends within it goes out whole, with its length.
pub(crate) const WHOLE_BODY: usize = 64 * 1024;

/// See the module docs.
pub(crate) struct RewriteBody {
    /// Where failures and counts go, and the product's name for log lines.
    metrics: MaskingMetrics,
    /// `request` or `response`: which body this is.
    which: &'static str,
    /// Whether [`prime`](Self::prime) is over: a response failing from
    /// then on is broken off mid-stream rather than blocked with a 502.
    primed: bool,
    inner: Body,
    rewriter: Rewriter,
    /// Output not yet sent.
    pending: Vec<u8>,
    /// The product's trailers, read while priming: sent after `pending`.
    trailers: Option<Frame<Bytes>>,
    done: bool,
    /// The plan that names a response's fields, until its counts are
    /// reported; and where the audit record's go.
    report_to: Option<(Arc<Plan>, Option<AuditFacts>)>,
}

impl RewriteBody {
    /// The request body of a write, protected on its way to the product.
    pub(crate) fn request(metrics: MaskingMetrics, inner: Body, rewriter: Rewriter) -> Self {
        Self::new(metrics, "request", inner, rewriter, None)
    }

    /// A response body rewritten under `plan`, protected on its way to the
    /// caller; its counts go to the metrics and to `facts` (audit).
    pub(crate) fn response(
        metrics: MaskingMetrics,
        inner: Body,
        rewriter: Rewriter,
        plan: &Arc<Plan>,
        facts: Option<AuditFacts>,
    ) -> Self {
        let report_to = Some((plan.clone(), facts));
        Self::new(metrics, "response", inner, rewriter, report_to)
    }

    fn new(
        metrics: MaskingMetrics,
        which: &'static str,
        inner: Body,
        rewriter: Rewriter,
        report_to: Option<(Arc<Plan>, Option<AuditFacts>)>,
    ) -> Self {
        Self {
            metrics,
            which,
            primed: false,
            inner,
            rewriter,
            pending: Vec::new(),
            trailers: None,
            done: false,
            report_to,
        }
    }

    /// Reports a response's counts, once (see the module docs).
    fn report(&mut self, failed: bool) {
        let Some((plan, facts)) = self.report_to.take() else {
            return;
        };
        let summary = self.rewriter.summary();
        self.metrics.count_rewrite(summary, &plan);
        if let Some(facts) = facts {
            let (fields, unclassified) = field_treatments(summary, &plan);
            facts.update(|facts| {
                facts.fields = fields;
                facts.unclassified = unclassified;
                facts.masking_failed |= failed;
            });
        }
    }

    /// Reads until the rewriter has output (or the body ends), so that an
    /// invalid start of body is found before the response head is sent;
    /// then what the product has sent already, while the output stays
    /// under [`WHOLE_BODY`], so that a small body is rewritten whole.
    pub(crate) async fn prime(&mut self) -> Result<(), BoxError> {
        let primed = self.prime_inner().await;
        self.primed = true;
        primed
    }

    async fn prime_inner(&mut self) -> Result<(), BoxError> {
        while self.pending.is_empty() && !self.done && self.trailers.is_none() {
            match self.inner.frame().await {
                Some(Ok(frame)) => self.take(frame)?,
                Some(Err(error)) => return Err(error),
                None => self.finish()?,
            }
        }
        while !self.done && self.trailers.is_none() && self.pending.len() < WHOLE_BODY {
            match self.inner.frame().now_or_never() {
                Some(Some(Ok(frame))) => self.take(frame)?,
                Some(Some(Err(error))) => return Err(error),
                Some(None) => self.finish()?,
                // Not arrived yet: the rest streams.
                None => break,
            }
        }
        Ok(())
    }

    /// The whole rewritten body, if the product's body has ended and been
    /// rewritten to its end (after [`prime`](Self::prime)); its counts are
    /// reported already.
    pub(crate) fn take_whole(&mut self) -> Option<Bytes> {
        (self.done && self.trailers.is_none())
            .then(|| Bytes::from(std::mem::take(&mut self.pending)))
    }

    fn take(&mut self, frame: Frame<Bytes>) -> Result<(), BoxError> {
        match frame.into_data() {
            Ok(data) => self.feed(&data),
            Err(trailers) => {
                self.trailers = Some(trailers);
                Ok(())
            }
        }
    }

    /// Feeds one data frame; when it was the body's last (the product's
    /// length is reached), finishes too, so the output is known whole.
    fn feed(&mut self, data: &[u8]) -> Result<(), BoxError> {
        self.pending.reserve(data.len() + 64);
        if let Err(error) = self.rewriter.feed(data, &mut self.pending) {
            return Err(self.fail(error));
        }
        if self.inner.is_end_stream() {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        if let Err(error) = self.rewriter.finish(&mut self.pending) {
            return Err(self.fail(error));
        }
        self.done = true;
        self.report(false);
        Ok(())
    }

    /// After a rewriter error: nothing more goes out, not even what was
    /// rewritten before it in the same frame.
    fn fail(&mut self, error: maskgate_masking::RewriteError) -> BoxError {
        // Logged as well as audited: a gateway without an audit log still
        // says why a product's body was refused. The error names an offset
        // and a reason, its cause the policy's reason (an action's error,
        // which never holds the value).
        let outcome = match (self.which, self.primed) {
            ("request", _) => "refused",
            (_, false) => "blocked",
            (_, true) => "aborted",
        };
        self.metrics.count_failure(self.which, outcome);
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        tracing::warn!(
            product = %self.metrics.product(),
            body = self.which,
            outcome,
            %error,
            cause = cause.as_deref().unwrap_or("-"),
            "a body could not be protected"
        );
        self.pending = Vec::new();
        self.done = true;
        self.report(true);
        error.into()
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
            if !this.pending.is_empty() {
                let out = Bytes::from(std::mem::take(&mut this.pending));
                return Poll::Ready(Some(Ok(Frame::data(out))));
            }
            if let Some(trailers) = this.trailers.take() {
                return Poll::Ready(Some(Ok(trailers)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if let Err(error) = this.feed(&data) {
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
