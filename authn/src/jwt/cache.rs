//! A bounded cache of verified tokens.
//!
//! Keyed by the SHA-256 of the token, never the token: a memory dump of the
//! cache does not hand out credentials. Written by hand (a map and an
//! insertion-order queue per shard, about a hundred lines) rather than taken
//! from `moka` or `lru`: what is needed is narrow (a per-entry deadline,
//! oldest-first eviction, no background threads), and owning it keeps the
//! expiry rules in plain sight. Sharded so that concurrent requests rarely
//! wait on the same lock.
//!
//! Eviction is oldest-inserted first: a token that is used a lot is verified
//! again after eviction, which only costs one signature check.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
    time::SystemTime,
};

use crate::Principal;

const SHARDS: usize = 16;

/// What is kept for a verified token.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) principal: Principal,
    /// The entry is not used at or after this time: the token's `exp` or the
    /// cache's maximum age, whichever is first.
    pub(crate) valid_until: SystemTime,
    /// Which issuer, and which of its keys, verified the token.
    pub(crate) issuer: usize,
    pub(crate) key: [u8; 32],
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<[u8; 32], (Entry, u64)>,
    /// Insertion order: (digest, sequence). An element whose sequence is not
    /// the map's is a leftover of a replaced or removed entry.
    order: VecDeque<([u8; 32], u64)>,
    next_seq: u64,
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl TokenCache {
    /// A cache of about `capacity` entries (rounded up to a multiple of the
    /// shard count); 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        Self {
            shards: (0..if per_shard == 0 { 0 } else { SHARDS })
                .map(|_| Mutex::new(Shard::default()))
                .collect(),
            per_shard,
        }
    }

    fn shard(&self, digest: &[u8; 32]) -> Option<std::sync::MutexGuard<'_, Shard>> {
        let shard = self.shards.get(usize::from(digest[0]) % SHARDS)?;
        // A shard is only ever changed by complete operations below; after a
        // panic elsewhere it is still consistent.
        Some(shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The entry for this token digest, if it is still valid at `now`.
    pub(crate) fn get(&self, digest: &[u8; 32], now: SystemTime) -> Option<Entry> {
        let mut shard = self.shard(digest)?;
        match shard.map.get(digest) {
            Some((entry, _)) if now < entry.valid_until => Some(entry.clone()),
            Some(_) => {
                shard.map.remove(digest);
                None
            }
            None => None,
        }
    }

    /// Forgets a token (e.g. its key is no longer trusted).
    pub(crate) fn remove(&self, digest: &[u8; 32]) {
        if let Some(mut shard) = self.shard(digest) {
            shard.map.remove(digest);
        }
    }

    pub(crate) fn insert(&self, digest: [u8; 32], entry: Entry, now: SystemTime) {
        if now >= entry.valid_until {
            return;
        }
        let per_shard = self.per_shard;
        let Some(mut shard) = self.shard(&digest) else {
            return;
        };
        let shard = &mut *shard;
        let seq = shard.next_seq;
        shard.next_seq += 1;
        shard.map.insert(digest, (entry, seq));
        shard.order.push_back((digest, seq));
        // Evict the oldest live entries beyond capacity.
        while shard.map.len() > per_shard {
            let Some((old, old_seq)) = shard.order.pop_front() else {
                break;
            };
            if shard.map.get(&old).is_some_and(|(_, s)| *s == old_seq) {
                shard.map.remove(&old);
            }
        }
        // Drop leftovers so the queue stays proportional to the map.
        if shard.order.len() > 2 * per_shard.max(1) {
            let map = &shard.map;
            shard
                .order
                .retain(|(d, s)| map.get(d).is_some_and(|(_, live)| live == s));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::AuthMethod;

    fn entry(valid_until: SystemTime) -> Entry {
        Entry {
            principal: Principal::new("s", Vec::new(), AuthMethod::Jwt),
            valid_until,
            issuer: 0,
            key: [0; 32],
        }
    }

    fn digest(i: u32) -> [u8; 32] {
        crate::encoding::sha256(&i.to_be_bytes())
    }

    #[test]
    fn entries_expire_at_their_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = TokenCache::new(10);
        cache.insert(digest(1), entry(now + Duration::from_secs(5)), now);
        assert!(cache.get(&digest(1), now).is_some());
        assert!(
            cache
                .get(&digest(1), now + Duration::from_secs(4))
                .is_some()
        );
        assert!(
            cache
                .get(&digest(1), now + Duration::from_secs(5))
                .is_none()
        );
        // An already-expired entry is not stored.
        cache.insert(digest(2), entry(now), now);
        assert!(
            cache
                .get(&digest(2), now - Duration::from_secs(1))
                .is_none()
        );
    }

    #[test]
    fn capacity_is_bounded_and_oldest_go_first() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let later = now + Duration::from_secs(3_600);
        let cache = TokenCache::new(160);
        for i in 0..10_000 {
            cache.insert(digest(i), entry(later), now);
        }
        assert!(cache.len() <= 160, "{}", cache.len());
        assert!(cache.get(&digest(9_999), now).is_some());
        assert!(cache.get(&digest(0), now).is_none());
        for shard in &cache.shards {
            let shard = shard.lock().unwrap();
            assert!(shard.order.len() <= 2 * cache.per_shard + 1);
        }
    }

    #[test]
    fn replacing_an_entry_does_not_grow_the_queue_without_bound() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = TokenCache::new(16);
        for _ in 0..1_000 {
            cache.insert(digest(7), entry(now + Duration::from_secs(60)), now);
        }
        assert_eq!(cache.len(), 1);
        for shard in &cache.shards {
            assert!(shard.lock().unwrap().order.len() <= 3);
        }
    }

    #[test]
    fn zero_capacity_disables_the_cache() {
        let now = SystemTime::UNIX_EPOCH;
        let cache = TokenCache::new(0);
        cache.insert(digest(1), entry(now + Duration::from_secs(60)), now);
        assert!(cache.get(&digest(1), now).is_none());
    }
}
