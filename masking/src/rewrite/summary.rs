//! What a rewrite did, for the audit record: per-field treatment counts
//! and byte and document totals, never values.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::policy::{FieldId, Replacement};

/// What happened to a selected field, for the audit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Treatment {
    /// A scalar the policy kept as it was.
    Kept,
    /// A scalar the policy replaced.
    Replaced,
    /// A scalar the policy dropped.
    Dropped,
    /// A container dropped whole.
    ContainerDropped,
    /// A container replaced whole.
    ContainerReplaced,
    /// A container whose leaves got the field's action.
    ContainerDescended,
}

impl Treatment {
    /// How a scalar's transform was answered.
    pub(super) fn of(replacement: Replacement) -> Self {
        match replacement {
            Replacement::Keep => Treatment::Kept,
            Replacement::Json => Treatment::Replaced,
            Replacement::Drop => Treatment::Dropped,
        }
    }

    /// The treatment's name in audit records and metrics: `kept`,
    /// `replaced`, `dropped`, `container_dropped`, `container_replaced`,
    /// `container_descended`.
    pub fn name(self) -> &'static str {
        match self {
            Treatment::Kept => "kept",
            Treatment::Replaced => "replaced",
            Treatment::Dropped => "dropped",
            Treatment::ContainerDropped => "container_dropped",
            Treatment::ContainerReplaced => "container_replaced",
            Treatment::ContainerDescended => "container_descended",
        }
    }

    /// Every treatment, in their order.
    const ALL: [Treatment; 6] = [
        Treatment::Kept,
        Treatment::Replaced,
        Treatment::Dropped,
        Treatment::ContainerDropped,
        Treatment::ContainerReplaced,
        Treatment::ContainerDescended,
    ];
}

/// The values a policy found in one unclassified string
/// ([`FieldPolicy::unclassified`](super::FieldPolicy::unclassified)), by
/// class and what became of each: the summary counts them once the
/// string's treatment is final, so a string the rewriter takes twice (a
/// fast path giving up) counts once.
#[derive(Clone, Debug, Default)]
pub struct Found(Vec<(Arc<str>, Treatment)>);

impl Found {
    /// Notes a value of `class` found, and kept or replaced.
    pub fn push(&mut self, class: Arc<str>, treatment: Treatment) {
        self.0.push((class, treatment));
    }
}

/// The values found in unclassified strings: counted, and those of the
/// string being scanned, pending.
#[derive(Clone, Debug, Default)]
struct Detections {
    counts: BTreeMap<(Arc<str>, Treatment), u64>,
    pending: Found,
}

impl Detections {
    #[cold]
    fn count_pending(&mut self) {
        for key in self.pending.0.drain(..) {
            *self.counts.entry(key).or_insert(0) += 1;
        }
    }
}

/// Field ids below this are counted in a dense table (a map update per
/// scalar would cost as much as a `redact`); others, in a map.
const DENSE_FIELD_IDS: usize = 1024;

/// The first rows of the dense table are part of the summary itself: a
/// typical plan's counts need no allocation (which cost a 1 KB body about
/// 3% of its instructions, with the copy `finish` returns).
const INLINE_FIELD_IDS: usize = 16;

type Row = [u64; Treatment::ALL.len()];

/// Per-field treatment counts, never values.
#[derive(Clone)]
pub struct RewriteSummary {
    /// Counts of field ids below [`INLINE_FIELD_IDS`], by id and
    /// treatment.
    first: [Row; INLINE_FIELD_IDS],
    /// Counts of the next field ids, below [`DENSE_FIELD_IDS`].
    dense: Vec<Row>,
    /// Counts of the other field ids.
    sparse: BTreeMap<(FieldId, Treatment), u64>,
    /// Unclassified strings handed to the policy's scan.
    pub unclassified_scanned: u64,
    /// Of those, how many the policy replaced.
    pub unclassified_replaced: u64,
    /// Of those, how many the policy dropped.
    pub unclassified_dropped: u64,
    /// What the policy found in unclassified strings, once it scans any
    /// (boxed: a rewrite that scans none pays one word for it).
    detections: Option<Box<Detections>>,
    /// Complete documents (1 for a JSON body, one per record for NDJSON).
    pub documents: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
}

impl Default for RewriteSummary {
    fn default() -> Self {
        Self {
            first: [[0; Treatment::ALL.len()]; INLINE_FIELD_IDS],
            dense: Vec::new(),
            sparse: BTreeMap::new(),
            unclassified_scanned: 0,
            unclassified_replaced: 0,
            unclassified_dropped: 0,
            detections: None,
            documents: 0,
            bytes_in: 0,
            bytes_out: 0,
        }
    }
}

impl RewriteSummary {
    /// Counts one treatment of field `id`.
    #[inline]
    pub(super) fn count(&mut self, id: FieldId, outcome: Treatment) {
        let k = id.0 as usize;
        let row = match self.first.get_mut(k) {
            Some(row) => Some(row),
            None => self.dense.get_mut(k - INLINE_FIELD_IDS),
        };
        match row {
            Some(counts) => counts[outcome as usize] += 1,
            None => self.count_outside_table(id, outcome),
        }
    }

    /// Where the policy notes what it finds in the unclassified string
    /// about to be scanned (emptied of an earlier string's that never
    /// counted: a policy error).
    ///
    /// This and [`count_unclassified`](Self::count_unclassified) stay out
    /// of the rewriter's loops: a scanned string costs far more than a
    /// call, and inlined they cost the loops of bodies that scan nothing
    /// (measured: 4% more instructions untouched at 100KB, 0.5% with 10
    /// paths at 1KB).
    #[cold]
    pub(super) fn found(&mut self) -> &mut Found {
        let detections = self.detections.get_or_insert_with(Box::default);
        detections.pending.0.clear();
        &mut detections.pending
    }

    /// Counts an unclassified string scanned, what became of it, and the
    /// values the policy found in it.
    #[inline(never)]
    pub(super) fn count_unclassified(&mut self, replacement: Replacement) {
        self.unclassified_scanned += 1;
        match replacement {
            Replacement::Json => self.unclassified_replaced += 1,
            Replacement::Drop => self.unclassified_dropped += 1,
            Replacement::Keep => {}
        }
        if let Some(detections) = &mut self.detections
            && !detections.pending.0.is_empty()
        {
            detections.count_pending();
        }
    }

    /// How many values of each class the policy found in unclassified
    /// strings, and what became of them (those that happened, ordered by
    /// class, then treatment).
    pub fn detected(&self) -> impl Iterator<Item = ((&str, Treatment), u64)> + '_ {
        self.detections
            .iter()
            .flat_map(|d| &d.counts)
            .map(|((class, treatment), &n)| ((&**class, *treatment), n))
    }

    /// [`count`](Self::count) of an id past the dense table: it grows the
    /// table, or counts in the map.
    #[cold]
    fn count_outside_table(&mut self, id: FieldId, outcome: Treatment) {
        let k = id.0 as usize;
        if k >= DENSE_FIELD_IDS {
            *self.sparse.entry((id, outcome)).or_insert(0) += 1;
            return;
        }
        let k = k - INLINE_FIELD_IDS;
        self.dense.resize(k + 1, [0; Treatment::ALL.len()]);
        self.dense[k][outcome as usize] += 1;
    }

    /// How many times each field id had each outcome (those that happened,
    /// ordered by field id, then treatment).
    pub fn fields(&self) -> impl Iterator<Item = ((FieldId, Treatment), u64)> + '_ {
        let rows = self.first.iter().chain(&self.dense);
        let dense = rows.enumerate().flat_map(|(k, row)| {
            let id = FieldId(u32::try_from(k).expect("below DENSE_FIELD_IDS"));
            Treatment::ALL
                .iter()
                .zip(row)
                .filter(|&(_, &n)| n > 0)
                .map(move |(&t, &n)| ((id, t), n))
        });
        dense.chain(self.sparse.iter().map(|(&key, &n)| (key, n)))
    }

    /// How many times field `id` had `outcome`.
    pub fn count_of(&self, id: FieldId, outcome: Treatment) -> u64 {
        let k = id.0 as usize;
        let row = match self.first.get(k) {
            Some(row) => Some(row),
            None => self.dense.get(k - INLINE_FIELD_IDS),
        };
        match row {
            Some(row) => row[outcome as usize],
            None => self.sparse.get(&(id, outcome)).copied().unwrap_or(0),
        }
    }

    fn totals(&self) -> [u64; 6] {
        [
            self.unclassified_scanned,
            self.unclassified_replaced,
            self.unclassified_dropped,
            self.documents,
            self.bytes_in,
            self.bytes_out,
        ]
    }
}

impl PartialEq for RewriteSummary {
    fn eq(&self, other: &Self) -> bool {
        self.totals() == other.totals()
            && self.fields().eq(other.fields())
            && self.detected().eq(other.detected())
    }
}

impl Eq for RewriteSummary {}

impl fmt::Debug for RewriteSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewriteSummary")
            .field("fields", &self.fields().collect::<Vec<_>>())
            .field("unclassified_scanned", &self.unclassified_scanned)
            .field("unclassified_replaced", &self.unclassified_replaced)
            .field("unclassified_dropped", &self.unclassified_dropped)
            .field("detected", &self.detected().collect::<Vec<_>>())
            .field("documents", &self.documents)
            .field("bytes_in", &self.bytes_in)
            .field("bytes_out", &self.bytes_out)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_count_alike() {
        let mut s = RewriteSummary::default();
        let big = FieldId(u32::MAX);
        for (id, t) in [
            (FieldId(3), Treatment::Kept),
            (big, Treatment::Dropped),
            (FieldId(3), Treatment::Kept),
            (FieldId(0), Treatment::ContainerDescended),
            (big, Treatment::Dropped),
            (FieldId(20), Treatment::Replaced),
        ] {
            s.count(id, t);
        }
        assert_eq!(s.count_of(FieldId(3), Treatment::Kept), 2);
        assert_eq!(s.count_of(FieldId(3), Treatment::Replaced), 0);
        assert_eq!(s.count_of(big, Treatment::Dropped), 2);
        assert_eq!(s.count_of(FieldId(7), Treatment::Kept), 0);
        assert_eq!(s.count_of(FieldId(20), Treatment::Replaced), 1);
        assert_eq!(s.count_of(FieldId(19), Treatment::Replaced), 0);
        assert_eq!(
            s.fields().collect::<Vec<_>>(),
            [
                ((FieldId(0), Treatment::ContainerDescended), 1),
                ((FieldId(3), Treatment::Kept), 2),
                ((FieldId(20), Treatment::Replaced), 1),
                ((big, Treatment::Dropped), 2),
            ]
        );
        // Equal counts are equal summaries, however the table grew.
        let mut t = RewriteSummary::default();
        t.count(FieldId(5), Treatment::Kept);
        assert_ne!(t, RewriteSummary::default());
        let mut u = RewriteSummary::default();
        u.dense.resize(9, [0; 6]);
        assert_eq!(u, RewriteSummary::default());
    }
}
