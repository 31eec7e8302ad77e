//! Short busy-polling of the client thread after each submission, and idle-priority
//! "warmer" threads while it waits on a slow reply.
//!
//! A command costs two hand-offs between threads (JS → client thread, client thread →
//! JS). When the client thread sleeps in `epoll_wait` between commands, each submission
//! and each server reply must wake it first, and waking a sleeping thread costs tens of
//! microseconds on a virtual machine (a halted vCPU must be scheduled again by the host):
//! at concurrency 1 that doubles the round trip. For [`WINDOW`] after a submission the
//! thread therefore keeps polling its sockets and queue without sleeping, so the reply and
//! the next submission find it awake. Idle clients let it sleep again: the cost is at most
//! one window of one core per submission.
//!
//! Polling only pays while the replies come quickly. A coalesced rate-limit run keeps the
//! server busy for ~70 µs, and a polling thread then holds a CPU that Node's thread or a
//! local redis-server needs: on 2 vCPUs the scheduler ran both of them on the other CPU,
//! in turn, and the rate limiter lost a third of its decisions per second. So after
//! submitting a long script run ([`super::args::long_script`]) the client thread sleeps
//! in `epoll_wait` until the next ordinary submission or the end of the window, and (on
//! Linux) [`WARMERS`] threads at `SCHED_IDLE` priority spin instead: they keep the
//! vCPUs out of halt, so the reply wakes the client thread quickly, and they give their
//! CPU at once to any thread that wakes, which a polling thread of normal priority does not.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How long the client thread stays awake after the last submission, unless the
/// `BULWARK_SPIN_MICROS` environment variable says otherwise (0: never spin).
const WINDOW: Duration = Duration::from_micros(200);

/// Warmer threads: two (one for Node's thread, one for the client thread or a local
/// server). Warmers only start inside a window, so with at least 2 CPUs.
#[cfg(target_os = "linux")]
const WARMERS: usize = 2;

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
    /// Base of the nanosecond clocks below.
    epoch: Instant,
    /// Nanoseconds after `epoch` until which the thread keeps polling.
    until: AtomicU64,
    /// Nanoseconds after `epoch` until which the thread sleeps instead (a long script run
    /// was submitted last).
    long_until: AtomicU64,
    /// The window in nanoseconds; 0 turns spinning off.
    window: u64,
    /// Wakes the spinner task when a submission ends an idle period.
    wake: Notify,
    /// The spinner task waits for `wake` (the client thread may sleep).
    parked: AtomicBool,
    /// The idle-priority threads that spin after a long run.
    #[cfg(target_os = "linux")]
    warmers: warm::Warmers,
}

impl Spin {
    fn global() -> &'static Spin {
        static SPIN: OnceLock<Spin> = OnceLock::new();
        SPIN.get_or_init(|| Spin {
            epoch: Instant::now(),
            until: AtomicU64::new(0),
            long_until: AtomicU64::new(0),
            window: window().as_nanos() as u64,
            wake: Notify::new(),
            parked: AtomicBool::new(false),
            #[cfg(target_os = "linux")]
            warmers: warm::Warmers::new(),
        })
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Called on each submission (any thread): keep the client thread awake a while, or,
    /// after a `long` script run, keep it asleep and the warmers spinning.
    pub(crate) fn touch(long: bool) {
        let spin = Spin::global();
        if spin.window == 0 {
            return;
        }
        let now = spin.now();
        spin.until.store(now + spin.window, Ordering::SeqCst);
        if long {
            spin.long_until.store(now + spin.window, Ordering::SeqCst);
            spin.start_warmers();
        } else {
            spin.long_until.store(0, Ordering::SeqCst);
            // SeqCst with the spinner's `parked` store and its `polling` loads: one side
            // sees the other's write, so the spinner never sleeps through a submission.
            if spin.parked.load(Ordering::SeqCst) {
                // The dispatcher is being woken for this submission anyway, so waking the
                // spinner too costs little more.
                spin.wake.notify_one();
            }
        }
    }

    /// Whether the client thread should poll now: inside the window, and no long script
    /// run submitted last.
    fn polling(&self, now: u64) -> bool {
        self.until.load(Ordering::SeqCst) > now && self.long_until.load(Ordering::SeqCst) <= now
    }

    /// The spinner task, run once on the client runtime: while it should poll it yields,
    /// which makes the current-thread scheduler poll I/O without blocking.
    pub(crate) async fn run() {
        let spin = Spin::global();
        if spin.window == 0 {
            return;
        }
        loop {
            if spin.polling(spin.now()) {
                // Give the CPU to any thread waiting for it (the Redis server, Node's
                // thread): without this a spinner that shares their CPU delays them by
                // up to a whole window, which showed as a 200 µs mode in latencies.
                std::thread::yield_now();
                tokio::task::yield_now().await;
                continue;
            }
            spin.parked.store(true, Ordering::SeqCst);
            if spin.polling(spin.now()) {
                spin.parked.store(false, Ordering::SeqCst);
                continue;
            }
            // A long run's window ends without a submission to wake the spinner: it then
            // sleeps until the next one, as after any window.
            spin.wake.notified().await;
            spin.parked.store(false, Ordering::SeqCst);
        }
    }

    #[cfg(target_os = "linux")]
    fn start_warmers(&self) {
        self.warmers.start();
    }

    /// No warmers without `SCHED_IDLE`: the client thread only sleeps after a long run.
    #[cfg(not(target_os = "linux"))]
    fn start_warmers(&self) {}

    /// Whether warmers should spin: a long run was submitted last, inside the window.
    #[cfg(target_os = "linux")]
    fn warming(&self) -> bool {
        self.long_until.load(Ordering::SeqCst) > self.now()
    }
}

#[cfg(target_os = "linux")]
mod warm {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    use super::Spin;

    /// Idle-priority threads, started on first use, asleep on `cv` outside the window.
    pub(super) struct Warmers {
        started: std::sync::Once,
        asleep: AtomicUsize,
        lock: Mutex<()>,
        cv: Condvar,
    }

    impl Warmers {
        pub(super) fn new() -> Self {
            Self {
                started: std::sync::Once::new(),
                asleep: AtomicUsize::new(0),
                lock: Mutex::new(()),
                cv: Condvar::new(),
            }
        }

        /// A long run was submitted: let the warmers spin.
        pub(super) fn start(&self) {
            self.started.call_once(|| {
                for _ in 0..super::WARMERS {
                    // A warmer that cannot start only costs the wake-ups it would save.
                    let _ = std::thread::Builder::new()
                        .name("bulwark-warm".into())
                        .spawn(run);
                }
            });
            if self.asleep.load(Ordering::SeqCst) > 0 {
                let _guard = self.lock.lock();
                self.cv.notify_all();
            }
        }
    }

    fn run() {
        let spin = Spin::global();
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sets this thread's own policy; SCHED_IDLE needs no privilege. If it
        // fails the thread would compete at normal priority: end it instead.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            return;
        }
        let warmers = &spin.warmers;
        loop {
            while spin.warming() {
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
            }
            let guard = warmers.lock.lock().unwrap_or_else(|e| e.into_inner());
            // Counted asleep before checking, under the lock that `start` takes to notify:
            // a run submitted after the check finds the count and wakes this thread.
            warmers.asleep.fetch_add(1, Ordering::SeqCst);
            if !spin.warming() {
                drop(warmers.cv.wait(guard));
            }
            warmers.asleep.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
