//! Short busy-polling of the client thread after each submission.
//!
//! A command costs two hand-offs between threads (JS → client thread, client thread →
//! JS). When the client thread sleeps in `epoll_wait` between commands, each submission
//! and each server reply must wake it first, and waking a sleeping thread costs tens of
//! microseconds on a virtual machine: at concurrency 1 that doubles the round trip. For
//! [`WINDOW`] after a submission the thread therefore keeps polling its sockets and queue
//! without sleeping, so the reply and the next submission find it awake. Idle clients
//! let it sleep again: the cost is at most one window of one core per submission.
//!
//! Spinning only pays while a CPU is free. When every CPU is wanted (a busy machine, or
//! Node's thread and a local Redis both busy on two CPUs) the spinner holds one that
//! they need: a 3+3 Redis Cluster on two loaded CPUs served 25k SETs/s with spinning
//! and 71k without. So the spinner watches whether threads wait for a CPU
//! ([`Crowding`]) and, when they do, stops for [`BACKOFF`] before trying again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::crowding::Crowding;

/// How long the client thread stays awake after the last submission, unless the
/// `BULWARK_SPIN_MICROS` environment variable says otherwise (0: never spin).
const WINDOW: Duration = Duration::from_micros(200);

/// How often a spinning thread looks at how crowded the machine is.
const CHECK_EVERY: Duration = Duration::from_micros(250);

/// How long the thread does not spin once it found the machine crowded.
const BACKOFF: Duration = Duration::from_millis(20);

/// [`WINDOW`], or `BULWARK_SPIN_MICROS`; zero with fewer than 2 CPUs (cgroup quotas
/// included), where a spinning thread would only take the time the thread it waits for
/// needs, and burn a container's quota.
fn window() -> Duration {
    if cpus() < 2 {
        return Duration::ZERO;
    }
    std::env::var("BULWARK_SPIN_MICROS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(WINDOW, Duration::from_micros)
}

/// The CPUs this process may use (affinity and cgroup quotas included).
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The shared activity clock of the client thread.
pub(crate) struct Spin {
    /// Base of the `until` clock.
    epoch: Instant,
    /// Nanoseconds after `epoch` until which the thread keeps polling.
    until: AtomicU64,
    /// The window in nanoseconds; 0 turns spinning off.
    window: u64,
    /// Nanoseconds after `epoch` until which submissions do not start spinning (the
    /// machine was found crowded).
    backoff_until: AtomicU64,
    /// Wakes the spinner task when a submission ends an idle period.
    wake: Notify,
}

impl Spin {
    fn global() -> &'static Spin {
        static SPIN: OnceLock<Spin> = OnceLock::new();
        SPIN.get_or_init(|| Spin {
            epoch: Instant::now(),
            until: AtomicU64::new(0),
            window: window().as_nanos() as u64,
            backoff_until: AtomicU64::new(0),
            wake: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Called on each submission (any thread): keep the client thread awake a while.
    pub(crate) fn touch() {
        let spin = Spin::global();
        if spin.window == 0 {
            return;
        }
        let now = spin.now();
        if spin.backoff_until.load(Ordering::Relaxed) > now {
            return;
        }
        let was = spin.until.swap(now + spin.window, Ordering::Relaxed);
        if was < now {
            // The spinner is (or is about to be) asleep: the dispatcher is being woken
            // for this submission anyway, so waking the spinner too costs nothing more.
            spin.wake.notify_one();
        }
    }

    /// The spinner task, run once on the client runtime: while the window is open it
    /// yields, which makes the current-thread scheduler poll I/O without blocking.
    pub(crate) async fn run() {
        let spin = Spin::global();
        if spin.window == 0 {
            return;
        }
        let mut crowding = Crowding::new(cpus());
        let mut next_check = 0;
        loop {
            let now = spin.now();
            if spin.until.load(Ordering::Relaxed) > now {
                if now >= next_check {
                    next_check = now + CHECK_EVERY.as_nanos() as u64;
                    if crowding.sample(now) {
                        spin.backoff_until
                            .store(now + BACKOFF.as_nanos() as u64, Ordering::Relaxed);
                        spin.until.store(0, Ordering::Relaxed);
                        crowding.reset();
                        continue;
                    }
                }
                // Give the CPU to any thread waiting for it (the Redis server, Node's
                // thread): without this a spinner that shares their CPU delays them by
                // up to a whole window, which showed as a 200 µs mode in latencies.
                std::thread::yield_now();
                tokio::task::yield_now().await;
            } else {
                spin.wake.notified().await;
            }
        }
    }
}
