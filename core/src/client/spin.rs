//! Short busy-polling of the client thread after each submission.
//!
//! A command costs two hand-offs between threads (JS → client thread, client thread →
//! JS). When the client thread sleeps in `epoll_wait` between commands, each submission
//! and each server reply must wake it first, and waking a sleeping thread costs tens of
//! microseconds on a virtual machine: at concurrency 1 that doubles the round trip. For
//! [`WINDOW`] after a submission the thread therefore keeps polling its sockets and queue
//! without sleeping, so the reply and the next submission find it awake. Idle clients
//! let it sleep again: the cost is at most one window of one core per submission.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How long the client thread stays awake after the last submission, unless the
/// `BULWARK_SPIN_MICROS` environment variable says otherwise (0: never spin).
const WINDOW: Duration = Duration::from_micros(200);

/// [`WINDOW`], or `BULWARK_SPIN_MICROS`; zero with fewer than 2 CPUs (cgroup quotas
/// included), where a spinning thread would only take the time the thread it waits for
/// needs, and burn a container's quota.
fn window() -> Duration {
    let single_cpu = std::thread::available_parallelism().map_or(true, |n| n.get() < 2);
    if single_cpu {
        return Duration::ZERO;
    }
    std::env::var("BULWARK_SPIN_MICROS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(WINDOW, Duration::from_micros)
}

/// The shared activity clock of the client thread.
pub(crate) struct Spin {
    /// Base of the `until` clock.
    epoch: Instant,
    /// Nanoseconds after `epoch` until which the thread keeps polling.
    until: AtomicU64,
    /// The window in nanoseconds; 0 turns spinning off.
    window: u64,
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
        loop {
            if spin.until.load(Ordering::Relaxed) > spin.now() {
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
