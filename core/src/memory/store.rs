//! The keyspace: value types, per-key metadata, lazy and active expiry,
//! approximate-LRU eviction and byte accounting. Everything here runs under
//! the engine's single lock.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::pubsub::PubSub;
use super::MemoryConfig;
use crate::Reply;

/// Rough per-element bookkeeping cost (allocation headers, hash slot) used by
/// the approximate byte count; exactness is not the point, boundedness is.
pub(crate) const ELEM_OVERHEAD: usize = 32;
/// Rough per-key cost (entry, index slot, shared key allocation).
const KEY_OVERHEAD: usize = 96;
/// Keys sampled per eviction, like Redis's default `maxmemory-samples 5`.
const EVICTION_SAMPLES: usize = 5;
/// Number of logical databases (`SELECT 0..15`).
pub(crate) const DATABASES: usize = 16;

/// A hash map whose entries live in a vector (the map holds indexes), so a
/// uniformly random key (eviction and expiry sampling, SPOP), a stable cursor
/// (SCAN) and repeated access after one hash probe (`index_of` + `at_mut`)
/// are O(1). Removal swaps the last entry into the hole.
#[derive(Debug, Clone)]
pub(crate) struct IndexedMap<V> {
    entries: Vec<(Arc<[u8]>, V)>,
    map: HashMap<Arc<[u8]>, usize>,
}

impl<V> Default for IndexedMap<V> {
    fn default() -> Self {
        IndexedMap {
            entries: Vec::new(),
            map: HashMap::new(),
        }
    }
}

impl<V> IndexedMap<V> {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The slot of `k`, for `at`/`at_mut` without probing again.
    pub(crate) fn index_of(&self, k: &[u8]) -> Option<usize> {
        self.map.get(k).copied()
    }
    pub(crate) fn at(&self, i: usize) -> &V {
        &self.entries[i].1
    }
    pub(crate) fn at_mut(&mut self, i: usize) -> &mut V {
        &mut self.entries[i].1
    }
    pub(crate) fn get(&self, k: &[u8]) -> Option<&V> {
        self.index_of(k).map(|i| self.at(i))
    }
    pub(crate) fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        self.index_of(k).map(|i| self.at_mut(i))
    }
    pub(crate) fn contains(&self, k: &[u8]) -> bool {
        self.map.contains_key(k)
    }
    /// Inserts a key known to be absent.
    pub(crate) fn insert_new(&mut self, k: Arc<[u8]>, v: V) {
        self.map.insert(k.clone(), self.entries.len());
        self.entries.push((k, v));
    }
    pub(crate) fn remove(&mut self, k: &[u8]) -> Option<V> {
        let idx = self.map.remove(k)?;
        let (_, v) = self.entries.swap_remove(idx);
        if idx < self.entries.len() {
            *self
                .map
                .get_mut(&*self.entries[idx].0)
                .expect("indexed key") = idx;
        }
        Some(v)
    }
    pub(crate) fn key_at(&self, i: usize) -> &Arc<[u8]> {
        &self.entries[i].0
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Arc<[u8]>, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.map.clear();
    }
}

/// A hash value: field → value, insertion-ordered like a small Redis hash.
#[derive(Debug, Default, Clone)]
pub(crate) struct Hash {
    pub(crate) map: IndexedMap<Vec<u8>>,
    bytes: usize,
}

impl Hash {
    /// Sets a field; true when it is new.
    pub(crate) fn insert(&mut self, f: &[u8], v: Vec<u8>) -> bool {
        self.bytes += v.len();
        if let Some(old) = self.map.get_mut(f) {
            self.bytes -= old.len();
            *old = v;
            return false;
        }
        self.bytes += f.len() + ELEM_OVERHEAD;
        self.map.insert_new(Arc::from(f), v);
        true
    }
    /// Rewrites the value of the field at slot `i` of `map` (found by the caller) in its own
    /// buffer (no allocation when it fits).
    pub(crate) fn rewrite_at(&mut self, i: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let value = self.map.at_mut(i);
        self.bytes -= value.len();
        value.clear();
        write(value);
        self.bytes += value.len();
    }
    pub(crate) fn remove(&mut self, f: &[u8]) -> bool {
        match self.map.remove(f) {
            Some(v) => {
                self.bytes -= f.len() + v.len() + ELEM_OVERHEAD;
                true
            }
            None => false,
        }
    }
}

/// A set value.
#[derive(Debug, Default, Clone)]
pub(crate) struct Set {
    pub(crate) map: IndexedMap<()>,
    bytes: usize,
}

impl Set {
    /// Adds a member; true when it is new.
    pub(crate) fn insert(&mut self, m: &[u8]) -> bool {
        if self.map.contains(m) {
            return false;
        }
        self.bytes += m.len() + ELEM_OVERHEAD;
        self.map.insert_new(Arc::from(m), ());
        true
    }
    pub(crate) fn remove(&mut self, m: &[u8]) -> bool {
        let removed = self.map.remove(m).is_some();
        if removed {
            self.bytes -= m.len() + ELEM_OVERHEAD;
        }
        removed
    }
    pub(crate) fn contains(&self, m: &[u8]) -> bool {
        self.map.contains(m)
    }
    pub(crate) fn members(&self) -> impl Iterator<Item = &Arc<[u8]>> {
        self.map.iter().map(|(k, _)| k)
    }
}

/// A sorted-set score with Redis's ordering (`-0 == 0`; NaN never stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Score(pub(crate) f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0
            .partial_cmp(&o.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// A sorted-set value: member → score plus the (score, member) order.
#[derive(Debug, Default, Clone)]
pub(crate) struct ZSet {
    pub(crate) dict: HashMap<Arc<[u8]>, f64>,
    pub(crate) tree: BTreeSet<(Score, Arc<[u8]>)>,
    bytes: usize,
    /// Whether Redis would have converted this set from its compact listpack
    /// encoding (more than 128 members or a member over 64 bytes); it never
    /// converts back.
    large: bool,
}

impl ZSet {
    /// Leaves the compact encoding, as SORT does to a sorted set in Redis.
    pub(crate) fn convert_to_skiplist(&mut self) {
        self.large = true;
    }
    /// Sets a member's score; true when the member is new.
    pub(crate) fn insert(&mut self, m: &[u8], score: f64) -> bool {
        let is_new = !self.dict.contains_key(m);
        if is_new && (self.dict.len() + 1 > 128 || m.len() > 64) {
            self.large = true;
        }
        // Redis's listpack stores -0 as 0 (the command's reply still says
        // -0); its skiplist keeps -0. Visible through ZSCORE/ZRANGE.
        let score = if score == 0.0 && !self.large {
            0.0
        } else {
            score
        };
        if let Some((k, old)) = self.dict.get_key_value(m) {
            let k = k.clone();
            self.tree.remove(&(Score(*old), k.clone()));
            self.tree.insert((Score(score), k.clone()));
            self.dict.insert(k, score);
            return false;
        }
        let k: Arc<[u8]> = Arc::from(m);
        self.bytes += m.len() + 2 * ELEM_OVERHEAD;
        self.tree.insert((Score(score), k.clone()));
        self.dict.insert(k, score);
        true
    }
    pub(crate) fn remove(&mut self, m: &[u8]) -> bool {
        match self.dict.remove_entry(m) {
            Some((k, s)) => {
                self.tree.remove(&(Score(s), k));
                self.bytes -= m.len() + 2 * ELEM_OVERHEAD;
                true
            }
            None => false,
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.dict.len()
    }
    /// 0-based rank in ascending order.
    pub(crate) fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = *self.dict.get(m)?;
        let k = self.dict.get_key_value(m)?.0.clone();
        Some(self.tree.range(..(Score(s), k)).count())
    }
}

/// A list value.
#[derive(Debug, Default, Clone)]
pub(crate) struct List {
    pub(crate) items: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl List {
    pub(crate) fn push(&mut self, v: Vec<u8>, left: bool) {
        self.bytes += v.len() + ELEM_OVERHEAD;
        if left {
            self.items.push_front(v);
        } else {
            self.items.push_back(v);
        }
    }
    pub(crate) fn pop(&mut self, left: bool) -> Option<Vec<u8>> {
        let v = if left {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }?;
        self.bytes -= v.len() + ELEM_OVERHEAD;
        Some(v)
    }
    /// Recomputes the byte count after an O(n) edit (LREM, LTRIM, LSET, LINSERT).
    pub(crate) fn recount(&mut self) {
        self.bytes = self.items.iter().map(|v| v.len() + ELEM_OVERHEAD).sum();
    }
}

/// A value of one of the supported Redis types.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Str(Vec<u8>),
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
}

impl Value {
    fn bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::List(l) => l.bytes,
            Value::Hash(h) => h.bytes,
            Value::Set(s) => s.bytes,
            Value::ZSet(z) => z.bytes,
        }
    }
    /// Collections are deleted when they become empty, as in Redis.
    fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.items.is_empty(),
            Value::Hash(h) => h.map.is_empty(),
            Value::Set(s) => s.map.is_empty(),
            Value::ZSet(z) => z.dict.is_empty(),
        }
    }
    /// The TYPE name.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }
}

/// One key's value and metadata.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) value: Value,
    /// Absolute expiry in unix ms.
    pub(crate) expires_at: Option<u64>,
    lru: u64,
    bytes: usize,
}

/// One logical database.
#[derive(Debug, Default)]
pub(crate) struct Db {
    pub(crate) keys: IndexedMap<Entry>,
    /// The keys that carry a TTL (sampled by the active sweep).
    expires: IndexedMap<()>,
}

impl Db {
    /// Number of keys that carry a TTL.
    pub(crate) fn expires_len(&self) -> usize {
        self.expires.len()
    }
}

/// A session's interest in a key it WATCHes.
pub(crate) type WatchFlag = Arc<AtomicBool>;

/// The sessions (id, flag) watching one key.
type Watchers = Vec<(u64, WatchFlag)>;

/// Counters reported by [`super::Engine::stats`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub(crate) evicted: u64,
    pub(crate) expired: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) commands: u64,
}

/// Everything behind the engine lock.
pub(crate) struct State {
    pub(crate) dbs: Vec<Db>,
    pub(crate) config: MemoryConfig,
    pub(crate) bytes: usize,
    pub(crate) counters: Counters,
    lru_clock: u64,
    rng: u64,
    /// (db, key) → flags of the sessions watching it.
    watched: HashMap<(usize, Vec<u8>), Watchers>,
    /// Keys written since the last drain, when tracking is on.
    pub(crate) written: Option<HashSet<(usize, Vec<u8>)>>,
    pub(crate) pubsub: PubSub,
    pub(crate) started_ms: u64,
}

/// The standard WRONGTYPE error.
pub(crate) fn wrongtype() -> Reply {
    Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
}

/// An `ERR …` reply.
pub(crate) fn err(msg: &str) -> Reply {
    Reply::Error(format!("ERR {msg}"))
}

/// What Redis prints of `s` through C's `%s`: the bytes up to the first NUL.
pub(crate) fn c_str(s: &[u8]) -> &[u8] {
    s.split(|&b| b == 0).next().unwrap_or(s)
}

impl State {
    pub(crate) fn new(config: MemoryConfig, now_ms: u64) -> State {
        State {
            dbs: (0..DATABASES).map(|_| Db::default()).collect(),
            config,
            bytes: 0,
            counters: Counters::default(),
            lru_clock: 0,
            rng: 0x9E37_79B9_7F4A_7C15 ^ now_ms,
            watched: HashMap::new(),
            written: None,
            pubsub: PubSub::default(),
            started_ms: now_ms,
        }
    }

    /// xorshift64*: cheap randomness for sampling, SPOP and SRANDMEMBER.
    pub(crate) fn rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniformly random index below `n` (`n > 0`).
    pub(crate) fn rand_below(&mut self, n: usize) -> usize {
        (self.rand() % n as u64) as usize
    }

    pub(crate) fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.keys.len()).sum()
    }

    /// Registers a WATCH on `(db, key)` for session `sid`.
    pub(crate) fn watch(&mut self, db: usize, key: &[u8], sid: u64, flag: &WatchFlag) {
        let list = self.watched.entry((db, key.to_vec())).or_default();
        if !list.iter().any(|(s, _)| *s == sid) {
            list.push((sid, flag.clone()));
        }
    }

    /// Drops session `sid`'s WATCH on `(db, key)`.
    pub(crate) fn unwatch(&mut self, db: usize, key: &[u8], sid: u64) {
        let k = (db, key.to_vec());
        if let Some(list) = self.watched.get_mut(&k) {
            list.retain(|(s, _)| *s != sid);
            if list.is_empty() {
                self.watched.remove(&k);
            }
        }
    }

    /// Records a write of `key`: invalidates WATCHes and feeds the write journal.
    fn signal(&mut self, db: usize, key: &[u8]) {
        self.touch_watchers(db, key);
        if let Some(w) = self.written.as_mut() {
            w.insert((db, key.to_vec()));
        }
    }

    /// Invalidates WATCHes of `key` (every change, including expiry and eviction).
    fn touch_watchers(&mut self, db: usize, key: &[u8]) {
        if !self.watched.is_empty() {
            if let Some(list) = self.watched.get(&(db, key.to_vec())) {
                for (_, flag) in list {
                    flag.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Deletes a key on behalf of a command (journaled as a write).
    /// Returns whether it existed.
    pub(crate) fn delete(&mut self, db: usize, key: &[u8]) -> bool {
        self.remove_key(db, key, true)
    }

    /// A write that leaves `key` absent (SET with an expiry time already past): Redis
    /// stores the key and expires it, so WATCHes and the journal see a write even when
    /// the key did not exist.
    pub(crate) fn write_absent(&mut self, db: usize, key: &[u8]) {
        if !self.delete(db, key) {
            self.signal(db, key);
        }
    }

    /// Removes a key for expiry or eviction: WATCHes see it, the write
    /// journal does not (no client wrote anything).
    fn reclaim(&mut self, db: usize, key: &[u8]) -> bool {
        self.remove_key(db, key, false)
    }

    fn remove_key(&mut self, db: usize, key: &[u8], journal: bool) -> bool {
        let d = &mut self.dbs[db];
        match d.keys.remove(key) {
            Some(e) => {
                if e.expires_at.is_some() {
                    d.expires.remove(key);
                }
                self.bytes -= e.bytes;
                if journal {
                    self.signal(db, key);
                } else {
                    self.touch_watchers(db, key);
                }
                true
            }
            None => false,
        }
    }

    /// True when the key exists but its TTL has passed.
    fn is_expired(&self, db: usize, key: &[u8], now: u64) -> bool {
        self.dbs[db]
            .keys
            .get(key)
            .and_then(|e| e.expires_at)
            .is_some_and(|t| t <= now)
    }

    /// Lazy expiry: deletes the key if its TTL has passed.
    pub(crate) fn expire_if_needed(&mut self, db: usize, key: &[u8], now: u64) {
        if self.is_expired(db, key, now) {
            self.reclaim(db, key);
            self.counters.expired += 1;
        }
    }

    /// Looks a live key up, refreshing its LRU clock and the hit/miss
    /// counters; a key whose TTL has passed is deleted (lazy expiry).
    pub(crate) fn lookup(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Entry> {
        let Some(i) = self.dbs[db].keys.index_of(key) else {
            self.counters.misses += 1;
            return None;
        };
        if self.dbs[db].keys.at(i).expires_at.is_some_and(|t| t <= now) {
            self.reclaim(db, key);
            self.counters.expired += 1;
            self.counters.misses += 1;
            return None;
        }
        self.lru_clock += 1;
        self.counters.hits += 1;
        let e = self.dbs[db].keys.at_mut(i);
        e.lru = self.lru_clock;
        Some(e)
    }

    /// The slot of live `key` in `db` (a key whose TTL has passed is deleted first, as a
    /// lookup does), without touching its LRU clock or the hit/miss counters.
    pub(crate) fn live_slot(&mut self, db: usize, key: &[u8], now: u64) -> Option<usize> {
        let i = self.dbs[db].keys.index_of(key)?;
        if self.dbs[db].keys.at(i).expires_at.is_some_and(|t| t <= now) {
            self.reclaim(db, key);
            self.counters.expired += 1;
            return None;
        }
        Some(i)
    }

    /// Records `n` lookups of the live key at slot `i` of `db` (LRU clock, hits) as
    /// [`State::lookup`] does, for a caller that holds the slot already.
    pub(crate) fn looked_up(&mut self, db: usize, i: usize, n: u64) {
        self.lru_clock += n;
        self.counters.hits += n;
        self.dbs[db].keys.at_mut(i).lru = self.lru_clock;
    }

    /// Looks a live key up without touching its LRU clock or counters.
    pub(crate) fn peek(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        self.expire_if_needed(db, key, now);
        self.dbs[db].keys.get(key)
    }

    /// Stores a value, replacing any previous one. `expires_at` replaces the TTL.
    pub(crate) fn set(&mut self, db: usize, key: &[u8], value: Value, expires_at: Option<u64>) {
        self.lru_clock += 1;
        let bytes = key.len() + value.bytes() + KEY_OVERHEAD;
        let entry = Entry {
            value,
            expires_at,
            lru: self.lru_clock,
            bytes,
        };
        let d = &mut self.dbs[db];
        match d.keys.index_of(key) {
            Some(i) => {
                let old = std::mem::replace(d.keys.at_mut(i), entry);
                self.bytes -= old.bytes;
                match (old.expires_at.is_some(), expires_at.is_some()) {
                    (true, false) => {
                        d.expires.remove(key);
                    }
                    (false, true) => d.expires.insert_new(d.keys.key_at(i).clone(), ()),
                    _ => {}
                }
            }
            None => {
                let arc: Arc<[u8]> = Arc::from(key);
                if expires_at.is_some() {
                    d.expires.insert_new(arc.clone(), ());
                }
                d.keys.insert_new(arc, entry);
            }
        }
        self.bytes += bytes;
        self.signal(db, key);
    }

    /// Changes a live key's TTL (`None` = persist).
    pub(crate) fn set_expiry(&mut self, db: usize, key: &[u8], expires_at: Option<u64>) {
        let d = &mut self.dbs[db];
        let Some(i) = d.keys.index_of(key) else {
            return;
        };
        let had = d.keys.at(i).expires_at.is_some();
        d.keys.at_mut(i).expires_at = expires_at;
        match (had, expires_at.is_some()) {
            (true, false) => {
                d.expires.remove(key);
            }
            (false, true) => d.expires.insert_new(d.keys.key_at(i).clone(), ()),
            _ => {}
        }
        self.signal(db, key);
    }

    /// Must follow every in-place change of a key's value: deletes emptied
    /// collections, refreshes the byte count, invalidates WATCHes.
    pub(crate) fn modified(&mut self, db: usize, key: &[u8]) {
        if let Some(i) = self.dbs[db].keys.index_of(key) {
            self.modified_at(db, i, key);
        }
    }

    /// [`State::modified`] for `key`, found at slot `i` of `db` (no second probe).
    pub(crate) fn modified_at(&mut self, db: usize, i: usize, key: &[u8]) {
        let e = self.dbs[db].keys.at_mut(i);
        if e.value.is_empty_collection() {
            self.delete(db, key);
            return;
        }
        let bytes = key.len() + e.value.bytes() + KEY_OVERHEAD;
        self.bytes = self.bytes + bytes - e.bytes;
        e.bytes = bytes;
        self.signal(db, key);
    }

    /// Deletes `key` if it holds an empty collection (one created by a
    /// write that ended up adding nothing).
    pub(crate) fn drop_if_empty(&mut self, db: usize, key: &[u8]) {
        if self.dbs[db]
            .keys
            .get(key)
            .is_some_and(|e| e.value.is_empty_collection())
        {
            self.reclaim(db, key);
        }
    }

    /// Empties one database (FLUSHDB) or all (FLUSHALL when `db` is None).
    pub(crate) fn flush(&mut self, db: Option<usize>) {
        let targets: Vec<usize> = match db {
            Some(d) => vec![d],
            None => (0..DATABASES).collect(),
        };
        for d in targets {
            let touched: Vec<Vec<u8>> = self
                .watched
                .keys()
                .filter(|(wd, k)| *wd == d && self.dbs[d].keys.contains(k))
                .map(|(_, k)| k.clone())
                .collect();
            for k in touched {
                self.signal(d, &k);
            }
            let freed: usize = self.dbs[d].keys.iter().map(|(_, e)| e.bytes).sum();
            self.bytes -= freed;
            self.dbs[d].keys.clear();
            self.dbs[d].expires.clear();
        }
    }

    /// Active expiry, Redis style: sample keys with a TTL, delete the expired
    /// ones, and keep going in a database while more than a quarter of a
    /// sample was expired. Examines at most `budget` keys; returns how many
    /// keys it deleted.
    pub(crate) fn sweep_expired(&mut self, now: u64, budget: usize) -> usize {
        const SAMPLE: usize = 20;
        let mut examined = 0;
        let mut deleted = 0;
        for db in 0..DATABASES {
            loop {
                let n = self.dbs[db].expires.len();
                if n == 0 || examined >= budget {
                    break;
                }
                let sample = SAMPLE.min(n).min(budget - examined);
                let mut hit = 0;
                for _ in 0..sample {
                    let n = self.dbs[db].expires.len();
                    if n == 0 {
                        break;
                    }
                    let i = self.rand_below(n);
                    let key = self.dbs[db].expires.key_at(i).clone();
                    examined += 1;
                    if self.is_expired(db, &key, now) {
                        self.reclaim(db, &key);
                        self.counters.expired += 1;
                        hit += 1;
                    }
                }
                deleted += hit;
                if hit * 4 <= sample {
                    break;
                }
            }
        }
        deleted
    }

    fn over_limits(&self) -> bool {
        self.config.max_keys.is_some_and(|m| self.total_keys() > m)
            || self.config.max_memory_bytes.is_some_and(|m| self.bytes > m)
    }

    /// Approximate allkeys-LRU: while over `max_keys`/`max_memory_bytes`,
    /// sample a few keys across databases and evict the least recently used.
    pub(crate) fn evict_if_needed(&mut self) {
        if self.config.max_keys.is_none() && self.config.max_memory_bytes.is_none() {
            return;
        }
        while self.over_limits() {
            let total = self.total_keys();
            if total == 0 {
                return;
            }
            let mut best: Option<(u64, usize, Arc<[u8]>)> = None;
            for _ in 0..EVICTION_SAMPLES {
                let mut i = self.rand_below(total);
                let mut db = 0;
                while i >= self.dbs[db].keys.len() {
                    i -= self.dbs[db].keys.len();
                    db += 1;
                }
                let key = self.dbs[db].keys.key_at(i).clone();
                let lru = self.dbs[db].keys.get(&key).expect("sampled key").lru;
                if best.as_ref().is_none_or(|(b, _, _)| lru < *b) {
                    best = Some((lru, db, key));
                }
            }
            let (_, db, key) = best.expect("a sample");
            self.reclaim(db, &key);
            self.counters.evicted += 1;
        }
    }
}
