//! Where the client thread runs while the connection carries nothing but long script
//! runs: on the CPU of the thread that submits them (Linux only).
//!
//! A stream of coalesced rate-limit runs is a lockstep hand-over: Node's thread submits a
//! run, the client thread sends it and sleeps (see `spin`), the reply wakes it, it hands
//! the reply back, and Node's thread builds the next run. The two threads work in turn,
//! never at once. Left to the scheduler, the client thread goes where its wake-up comes
//! from, which for a reply from a local redis-server is the CPU that server runs on: it
//! then preempts the next script run there. So after [`STREAK`] batches in a row that
//! held only long runs, all from one CPU, the client thread is pinned to that CPU; the
//! first batch with anything else, or from another CPU, gives it back the CPUs it was
//! allowed before. Traffic that mixes runs with other commands is never pinned: its
//! replies come back in pieces, each waking the client thread, and on Node's CPU those
//! wake-ups cost more than they save (measured in docs/rate-limiting.md). The affinity
//! only changes when the wanted CPU does, so a steady stream costs no system call.

#[cfg(target_os = "linux")]
pub(crate) use linux::{follow, note_submission};

/// Not Linux: the thread stays where the scheduler puts it.
#[cfg(not(target_os = "linux"))]
pub(crate) fn note_submission(_only_long: bool) {}

/// Not Linux: the thread stays where the scheduler puts it.
#[cfg(not(target_os = "linux"))]
pub(crate) fn follow() {}

/// Batches of only long runs in a row, from one CPU, before the client thread follows
/// their submitter.
#[cfg(target_os = "linux")]
const STREAK: u32 = 8;

/// The follow state after one submission: `(streak, want)` from the previous ones,
/// whether the batch held only long runs, and the submitter's CPU (read only when
/// needed). `want` is a CPU, or -1 for wherever the thread is allowed.
#[cfg(target_os = "linux")]
fn next(streak: u32, want: i32, only_long: bool, cpu: impl FnOnce() -> i32) -> (u32, i32) {
    if !only_long {
        return (0, -1);
    }
    let streak = (streak + 1).min(STREAK);
    if streak < STREAK {
        return (streak, -1);
    }
    let cpu = cpu();
    // A CPU past what a cpu_set_t holds (1,024), or none (-1), cannot be pinned to.
    if !(0..libc::CPU_SETSIZE).contains(&cpu) {
        return (0, -1);
    }
    // Runs from another CPU: the submitter moved, or several threads submit. Start over.
    if want >= 0 && want != cpu {
        return (0, -1);
    }
    (streak, cpu)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::cell::Cell;
    use std::mem::{size_of, zeroed};
    use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

    /// The CPU the client thread should run on, or -1 for wherever it is allowed.
    static WANT: AtomicI32 = AtomicI32::new(-1);
    /// Batches of only long runs submitted in a row (up to [`super::STREAK`]).
    static STREAK: AtomicU32 = AtomicU32::new(0);

    /// A batch is being submitted by the calling thread; `only_long`: it holds nothing
    /// but long script runs. (Submitting threads race on the state; a lost update only
    /// delays or ends a pin.)
    pub(crate) fn note_submission(only_long: bool) {
        let streak = STREAK.load(Ordering::Relaxed);
        let want = WANT.load(Ordering::Relaxed);
        // SAFETY: no arguments; returns -1 on failure, which `next` does not follow.
        let (streak_now, want_now) =
            super::next(streak, want, only_long, || unsafe { libc::sched_getcpu() });
        // Written only when changed: the client thread reads `WANT` for every batch.
        if streak_now != streak {
            STREAK.store(streak_now, Ordering::Relaxed);
        }
        if want_now != want {
            WANT.store(want_now, Ordering::Relaxed);
        }
    }

    /// On the client thread, before it sends a batch: pin it as [`note_submission`]
    /// last wanted.
    pub(crate) fn follow() {
        apply(WANT.load(Ordering::Relaxed));
    }

    thread_local! {
        /// The CPU this thread is pinned to, or -1.
        static PINNED: Cell<i32> = const { Cell::new(-1) };
        /// The CPUs this thread was allowed before it was first pinned.
        static ALLOWED: Cell<Option<libc::cpu_set_t>> = const { Cell::new(None) };
    }

    /// Pins the calling thread to `want`, or (-1) gives it back the CPUs it was allowed
    /// before its first pin.
    pub(super) fn apply(want: i32) {
        if PINNED.get() == want {
            return;
        }
        let set = if want < 0 {
            match ALLOWED.get() {
                Some(set) => set,
                None => return,
            }
        } else {
            if ALLOWED.get().is_none() {
                // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the kernel.
                let mut allowed: libc::cpu_set_t = unsafe { zeroed() };
                if unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut allowed) }
                    != 0
                {
                    return;
                }
                ALLOWED.set(Some(allowed));
            }
            // SAFETY: as above; `want` is below CPU_SETSIZE (`next`).
            let mut one: libc::cpu_set_t = unsafe { zeroed() };
            unsafe { libc::CPU_SET(want as usize, &mut one) };
            one
        };
        // SAFETY: sets this thread's own affinity from a valid set. On failure (a cpuset
        // that no longer allows the CPU) the thread stays where it was; the wish is
        // recorded anyway so that it is not retried every batch.
        unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
        PINNED.set(want);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::{linux::apply, next, STREAK};

    #[test]
    fn follows_after_a_streak_of_long_runs_from_one_cpu() {
        let mut state = (0, -1);
        for _ in 1..STREAK {
            state = next(state.0, state.1, true, || 1);
            assert_eq!(state.1, -1, "not before {STREAK} batches");
        }
        state = next(state.0, state.1, true, || 1);
        assert_eq!(state, (STREAK, 1));
        state = next(state.0, state.1, true, || 1);
        assert_eq!(state, (STREAK, 1), "stays pinned");
        assert_eq!(
            next(state.0, state.1, false, || 1),
            (0, -1),
            "any other batch unpins"
        );
        assert_eq!(
            next(state.0, state.1, true, || 0),
            (0, -1),
            "another CPU starts over"
        );
        assert_eq!(next(STREAK, -1, true, || -1), (0, -1), "no CPU known");
        let past = libc::CPU_SETSIZE;
        assert_eq!(next(STREAK, -1, true, || past), (0, -1), "past a cpu_set_t");
    }

    fn allowed() -> Vec<usize> {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the kernel.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut set) }, 0);
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect()
    }

    #[test]
    fn pins_the_calling_thread_and_gives_its_cpus_back() {
        // A thread of its own: the pin is the calling thread's.
        std::thread::spawn(|| {
            let before = allowed();
            let cpu = before[0];
            apply(cpu as i32);
            assert_eq!(allowed(), vec![cpu]);
            apply(cpu as i32);
            assert_eq!(allowed(), vec![cpu], "no change asked, none made");
            apply(-1);
            assert_eq!(allowed(), before);
        })
        .join()
        .unwrap();
    }
}
