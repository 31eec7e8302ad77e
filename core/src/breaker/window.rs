//! The rolling statistics window: a ring of buckets with running totals.
//!
//! Recording is O(1) (a counter bump and, for outcomes, one `push`); the sorted latency
//! array and the percentiles are only built when a snapshot is requested. Time never comes
//! from a wall clock: callers pass `now` in milliseconds, so tests control it exactly.

/// The counters of one bucket, in opossum's bucket field order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Field {
    /// Calls that failed (rejection, sync throw, timeout, semaphore lock).
    Failures = 0,
    /// Fallback functions run.
    Fallbacks = 1,
    /// Calls that resolved, or whose error the `errorFilter` accepted.
    Successes = 2,
    /// Calls refused because the circuit was open.
    Rejects = 3,
    /// Every `fire`/`call`, including rejects and cache hits.
    Fires = 4,
    /// Calls that hit the per-call timeout.
    Timeouts = 5,
    /// Cache hits.
    CacheHits = 6,
    /// Cache misses.
    CacheMisses = 7,
    /// Coalesce hits.
    CoalesceCacheHits = 8,
    /// Coalesce misses.
    CoalesceCacheMisses = 9,
    /// Calls refused for lack of a semaphore permit.
    SemaphoreRejections = 10,
}

/// Number of counters per bucket.
pub const FIELD_COUNT: usize = 11;

/// The percentiles opossum reports, in its key order.
pub const PERCENTILES: [f64; 9] = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1.0];

impl Field {
    /// The field for a numeric index (the binding passes plain numbers).
    pub fn from_index(index: u32) -> Option<Field> {
        use Field::*;
        const ALL: [Field; FIELD_COUNT] = [
            Failures,
            Fallbacks,
            Successes,
            Rejects,
            Fires,
            Timeouts,
            CacheHits,
            CacheMisses,
            CoalesceCacheHits,
            CoalesceCacheMisses,
            SemaphoreRejections,
        ];
        ALL.get(index as usize).copied()
    }

    /// Whether incrementing this field also records a latency sample (as opossum does).
    pub fn has_latency(self) -> bool {
        matches!(self, Field::Successes | Field::Failures | Field::Timeouts)
    }
}

/// One bucket: counters, the latency samples in arrival order, and the open marker
/// (`None` until the circuit opened or closed during this bucket).
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// Counters indexed by [`Field`].
    pub counts: [f64; FIELD_COUNT],
    /// Latency samples (ms) in arrival order.
    pub latencies: Vec<f64>,
    /// `isCircuitBreakerOpen` of opossum's bucket.
    pub open_marker: Option<bool>,
}

impl Bucket {
    fn clear(&mut self) {
        self.counts = [0.0; FIELD_COUNT];
        // Keep the allocation only while it is small: a burst must not pin memory forever.
        if self.latencies.capacity() > 4096 {
            self.latencies = Vec::new();
        } else {
            self.latencies.clear();
        }
        self.open_marker = None;
    }
}

/// How buckets rotate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rotation {
    /// Lazily from the `now` passed to each call: bucket `k` covers
    /// `[origin + k·interval, origin + (k+1)·interval)`, like opossum's `setInterval`.
    Clock {
        /// Time (ms) the window was created.
        origin: f64,
        /// Bucket length in ms (at least 1).
        interval: f64,
    },
    /// Only when [`Window::rotate`] is called (opossum's `rotateBucketController`).
    Manual,
}

/// Aggregated statistics over the whole window, as opossum's `status.stats` reports them.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Totals per [`Field`].
    pub counts: [f64; FIELD_COUNT],
    /// Arithmetic mean of the samples; 0 without samples; −1 when percentiles are off.
    pub latency_mean: f64,
    /// Nearest-rank values for [`PERCENTILES`]; −1 each when percentiles are off.
    pub percentiles: [f64; 9],
    /// All samples in the window, sorted ascending (empty when percentiles are off).
    pub latencies: Vec<f64>,
}

/// The rolling window.
#[derive(Clone, Debug)]
pub struct Window {
    buckets: Vec<Bucket>,
    /// Index in `buckets` of the current bucket (opossum's `window[0]`).
    head: usize,
    /// Running sums of every bucket's counters, so threshold checks never iterate.
    totals: [f64; FIELD_COUNT],
    rotation: Rotation,
    /// Number of clock intervals elapsed since `origin` at the last rotation.
    epoch: f64,
    percentiles_enabled: bool,
}

impl Window {
    /// A window of `buckets` buckets (at least 1). Latency samples are kept only when
    /// `percentiles_enabled` (opossum keeps them regardless and never reads them).
    pub fn new(buckets: usize, rotation: Rotation, percentiles_enabled: bool) -> Window {
        let n = buckets.max(1);
        let rotation = match rotation {
            Rotation::Clock { origin, interval } => Rotation::Clock {
                origin,
                interval: if interval.is_finite() && interval >= 1.0 {
                    interval
                } else {
                    1.0
                },
            },
            Rotation::Manual => Rotation::Manual,
        };
        Window {
            buckets: vec![Bucket::default(); n],
            head: 0,
            totals: [0.0; FIELD_COUNT],
            rotation,
            epoch: 0.0,
            percentiles_enabled,
        }
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Always false: a window has at least one bucket.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether latency samples are kept and percentiles computed.
    pub fn percentiles_enabled(&self) -> bool {
        self.percentiles_enabled
    }

    /// Catches up with the clock: rotates once per elapsed interval, at most once per
    /// bucket (after a long idle the whole window is simply empty). A clock that goes
    /// backwards rotates nothing.
    pub fn advance(&mut self, now: f64) {
        if let Rotation::Clock { origin, interval } = self.rotation {
            let elapsed = ((now - origin) / interval).floor();
            if elapsed > self.epoch {
                let steps = (elapsed - self.epoch).min(self.buckets.len() as f64) as usize;
                for _ in 0..steps {
                    self.rotate();
                }
                self.epoch = elapsed;
            }
        }
    }

    /// Drops the oldest bucket and starts a fresh current one.
    pub fn rotate(&mut self) {
        let n = self.buckets.len();
        self.head = (self.head + 1) % n;
        let oldest = &mut self.buckets[self.head];
        for (total, count) in self.totals.iter_mut().zip(oldest.counts.iter()) {
            *total -= count;
        }
        oldest.clear();
    }

    /// Adds one to `field` in the current bucket, with a latency sample for outcomes.
    pub fn increment(&mut self, field: Field, latency: f64) {
        let bucket = &mut self.buckets[self.head];
        bucket.counts[field as usize] += 1.0;
        self.totals[field as usize] += 1.0;
        if self.percentiles_enabled && field.has_latency() {
            // opossum records `latency || 0`: NaN and missing values become 0.
            bucket
                .latencies
                .push(if latency.is_nan() { 0.0 } else { latency });
        }
    }

    /// Adds `amount` to a counter field (no latency sample), e.g. a batch of fires.
    pub fn add(&mut self, field: Field, amount: f64) {
        self.buckets[self.head].counts[field as usize] += amount;
        self.totals[field as usize] += amount;
    }

    /// Total of `field` over the window (O(1)).
    pub fn total(&self, field: Field) -> f64 {
        self.totals[field as usize]
    }

    /// Sets the current bucket's open marker.
    pub fn mark_open(&mut self, open: bool) {
        self.buckets[self.head].open_marker = Some(open);
    }

    /// Merges imported statistics into the current bucket (opossum's `new Status({stats})`).
    pub fn prime(&mut self, counts: &[f64], latencies: &[f64]) {
        let bucket = &mut self.buckets[self.head];
        for (i, value) in counts.iter().take(FIELD_COUNT).enumerate() {
            let value = if value.is_finite() { *value } else { 0.0 };
            self.totals[i] += value - bucket.counts[i];
            bucket.counts[i] = value;
        }
        if self.percentiles_enabled {
            bucket.latencies = latencies
                .iter()
                .map(|v| if v.is_nan() { 0.0 } else { *v })
                .collect();
        }
    }

    /// Bucket `index` counted from the current one (0), or `None` past the end.
    pub fn bucket(&self, index: usize) -> Option<&Bucket> {
        let n = self.buckets.len();
        (index < n).then(|| &self.buckets[(self.head + n - index) % n])
    }

    /// Builds the aggregated statistics: sorts all samples, computes mean and percentiles
    /// exactly as opossum does (nearest rank, `ceil(p·n) − 1`, minimum for p = 0).
    pub fn snapshot(&self) -> Snapshot {
        if !self.percentiles_enabled {
            return Snapshot {
                counts: self.totals,
                latency_mean: -1.0,
                percentiles: [-1.0; 9],
                latencies: Vec::new(),
            };
        }
        let total: usize = self.buckets.iter().map(|b| b.latencies.len()).sum();
        let mut latencies = Vec::with_capacity(total);
        for index in (0..self.buckets.len()).rev() {
            if let Some(bucket) = self.bucket(index) {
                latencies.extend_from_slice(&bucket.latencies);
            }
        }
        latencies.sort_by(f64::total_cmp);
        // Sum in ascending order, as opossum's reduce over the sorted array, so the mean
        // is bit-identical.
        let latency_mean = if latencies.is_empty() {
            0.0
        } else {
            latencies.iter().sum::<f64>() / latencies.len() as f64
        };
        let mut percentiles = [0.0; 9];
        for (slot, p) in percentiles.iter_mut().zip(PERCENTILES) {
            *slot = percentile(&latencies, p);
        }
        Snapshot {
            counts: self.totals,
            latency_mean,
            percentiles,
            latencies,
        }
    }
}

/// opossum's `calculatePercentile`, including its `|| 0` on missing or zero values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pick = |v: Option<&f64>| {
        v.copied()
            .filter(|v| *v != 0.0 && !v.is_nan())
            .unwrap_or(0.0)
    };
    if p == 0.0 {
        return pick(sorted.first());
    }
    let idx = (p * sorted.len() as f64).ceil() as usize;
    pick(idx.checked_sub(1).and_then(|i| sorted.get(i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock_window(buckets: usize, interval: f64) -> Window {
        Window::new(
            buckets,
            Rotation::Clock {
                origin: 1_000.0,
                interval,
            },
            true,
        )
    }

    #[test]
    fn increments_current_bucket_and_totals() {
        let mut w = clock_window(10, 1000.0);
        w.increment(Field::Fires, 0.0);
        w.increment(Field::Successes, 12.0);
        w.increment(Field::Failures, 3.0);
        assert_eq!(w.total(Field::Fires), 1.0);
        assert_eq!(w.total(Field::Successes), 1.0);
        assert_eq!(w.total(Field::Failures), 1.0);
        let b = w.bucket(0).unwrap();
        assert_eq!(b.latencies, vec![12.0, 3.0]);
        assert_eq!(b.counts[Field::Fires as usize], 1.0);
        // Non-outcome fields take no sample.
        assert_eq!(w.bucket(0).unwrap().latencies.len(), 2);
    }

    #[test]
    fn lazy_rotation_ages_out_old_buckets() {
        let mut w = clock_window(3, 100.0);
        w.increment(Field::Failures, 1.0); // bucket at t in [1000, 1100)
        w.advance(1_150.0);
        w.increment(Field::Failures, 2.0);
        assert_eq!(w.total(Field::Failures), 2.0);
        assert_eq!(w.bucket(1).unwrap().latencies, vec![1.0]);
        w.advance(1_299.0); // third bucket
        assert_eq!(w.total(Field::Failures), 2.0);
        w.advance(1_300.0); // first bucket drops out
        assert_eq!(w.total(Field::Failures), 1.0);
        assert_eq!(w.snapshot().latencies, vec![2.0]);
    }

    #[test]
    fn long_idle_empties_the_window_in_bounded_steps() {
        let mut w = clock_window(4, 10.0);
        for _ in 0..5 {
            w.increment(Field::Successes, 5.0);
        }
        w.advance(1e15);
        assert_eq!(w.total(Field::Successes), 0.0);
        assert!(w.snapshot().latencies.is_empty());
        // Still usable afterwards.
        w.increment(Field::Successes, 1.0);
        assert_eq!(w.total(Field::Successes), 1.0);
    }

    #[test]
    fn clock_going_backwards_rotates_nothing() {
        let mut w = clock_window(4, 10.0);
        w.advance(1_050.0);
        w.increment(Field::Fires, 0.0);
        w.advance(0.0);
        w.advance(f64::NAN);
        assert_eq!(w.total(Field::Fires), 1.0);
    }

    #[test]
    fn manual_rotation_ignores_the_clock() {
        let mut w = Window::new(2, Rotation::Manual, true);
        w.increment(Field::Fires, 0.0);
        w.advance(1e12);
        assert_eq!(w.total(Field::Fires), 1.0);
        w.rotate();
        assert_eq!(w.total(Field::Fires), 1.0);
        w.rotate();
        assert_eq!(w.total(Field::Fires), 0.0);
    }

    /// opossum's algorithm, written the naive way, as the reference.
    fn reference(samples: &[f64]) -> (f64, Vec<f64>) {
        let mut s = samples.to_vec();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mean = if s.is_empty() {
            0.0
        } else {
            s.iter().fold(0.0, |a, b| a + b) / s.len() as f64
        };
        let ps = PERCENTILES
            .iter()
            .map(|&p| {
                let v = if p == 0.0 {
                    s.first().copied()
                } else {
                    let idx = (p * s.len() as f64).ceil() as i64 - 1;
                    if idx < 0 {
                        None
                    } else {
                        s.get(idx as usize).copied()
                    }
                };
                match v {
                    Some(x) if x != 0.0 => x,
                    _ => 0.0,
                }
            })
            .collect();
        (mean, ps)
    }

    #[test]
    fn percentiles_match_reference() {
        for n in [0usize, 1, 2, 3, 7, 10, 99, 100, 1000, 1001] {
            let mut w = clock_window(5, 100.0);
            let mut all = Vec::new();
            let mut seed = 12345u64 + n as u64;
            for i in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = ((seed >> 33) % 500) as f64;
                w.increment(
                    if i % 3 == 0 {
                        Field::Failures
                    } else {
                        Field::Successes
                    },
                    v,
                );
                all.push(v);
                if i % 17 == 0 {
                    w.advance(1_000.0 + (i as f64 / n as f64) * 400.0);
                }
            }
            let snap = w.snapshot();
            let (mean, ps) = reference(&all);
            assert_eq!(snap.latency_mean, mean, "n={n}");
            assert_eq!(snap.percentiles.to_vec(), ps, "n={n}");
            assert_eq!(snap.latencies.len(), n);
            assert!(snap.latencies.windows(2).all(|p| p[0] <= p[1]));
        }
    }

    #[test]
    fn percentiles_disabled_report_minus_one_and_keep_no_samples() {
        let mut w = Window::new(3, Rotation::Manual, false);
        w.increment(Field::Successes, 10.0);
        let snap = w.snapshot();
        assert_eq!(snap.latency_mean, -1.0);
        assert_eq!(snap.percentiles, [-1.0; 9]);
        assert!(snap.latencies.is_empty());
        assert!(w.bucket(0).unwrap().latencies.is_empty());
        assert_eq!(snap.counts[Field::Successes as usize], 1.0);
    }

    #[test]
    fn nan_latency_is_recorded_as_zero() {
        let mut w = Window::new(1, Rotation::Manual, true);
        w.increment(Field::Timeouts, f64::NAN);
        assert_eq!(w.snapshot().latencies, vec![0.0]);
    }

    #[test]
    fn prime_merges_into_current_bucket() {
        let mut w = Window::new(2, Rotation::Manual, true);
        w.increment(Field::Fires, 0.0);
        let mut counts = [0.0; FIELD_COUNT];
        counts[Field::Fires as usize] = 10.0;
        counts[Field::Failures as usize] = f64::INFINITY;
        w.prime(&counts, &[3.0, 1.0]);
        assert_eq!(w.total(Field::Fires), 10.0);
        assert_eq!(w.total(Field::Failures), 0.0);
        assert_eq!(w.snapshot().latencies, vec![1.0, 3.0]);
        w.rotate();
        w.rotate();
        assert_eq!(w.total(Field::Fires), 0.0);
    }

    #[test]
    fn bucket_index_and_markers() {
        let mut w = Window::new(3, Rotation::Manual, true);
        w.mark_open(true);
        w.rotate();
        w.mark_open(false);
        assert_eq!(w.bucket(0).unwrap().open_marker, Some(false));
        assert_eq!(w.bucket(1).unwrap().open_marker, Some(true));
        assert_eq!(w.bucket(2).unwrap().open_marker, None);
        assert!(w.bucket(3).is_none());
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn field_indices_round_trip() {
        for i in 0..FIELD_COUNT as u32 {
            assert_eq!(Field::from_index(i).unwrap() as u32, i);
        }
        assert!(Field::from_index(11).is_none());
    }
}
