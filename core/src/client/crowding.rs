//! Whether the CPUs are crowded: when they are, a spinning client thread takes CPU time
//! from the threads it waits for (Node's own thread, a local Redis).
//!
//! Two signals, either of which makes a reading crowded:
//! - how long Node's main thread waited for a CPU while runnable (the second field of its
//!   `/proc/<pid>/task/<pid>/schedstat`, in ns): when it grows by more than
//!   [`WAITING_SHARE`] of the time between two readings, the thread the client serves is
//!   being held back;
//! - the kernel's count of runnable threads (`/proc/loadavg`'s `running/total`, the
//!   spinner included) above the CPUs this process may use: other processes (a local
//!   Redis) wait, even when Node's thread does not.
//!
//! A reading is a snapshot, so the spinner looks at a short history.

use std::fs::File;

/// The main thread's CPU wait, read from its open `schedstat` (Linux only).
pub(crate) struct Crowding {
    file: Option<File>,
    loadavg: Option<File>,
    cpus: usize,
    /// The last reading: (ns since the caller's epoch, ns waited).
    last: Option<(u64, u64)>,
    /// The last eight readings, one bit each (1: the main thread waited too long).
    history: u8,
}

/// The share of an interval (1 / this) the main thread may wait for a CPU.
const WAITING_SHARE: u64 = 8;

/// Crowded readings among the last eight that make the spinner stop.
const CROWDED_OF_EIGHT: u32 = 3;

impl Crowding {
    /// A reader for this process's main thread, on `cpus` CPUs.
    pub(crate) fn new(cpus: usize) -> Self {
        let pid = std::process::id();
        Self {
            file: File::open(format!("/proc/{pid}/task/{pid}/schedstat")).ok(),
            loadavg: File::open("/proc/loadavg").ok(),
            cpus,
            last: None,
            history: 0,
        }
    }

    /// Takes one reading at `now` (ns, any fixed epoch); true when enough recent readings
    /// were crowded. Never true where neither signal can be read.
    pub(crate) fn sample(&mut self, now: u64) -> bool {
        let waiting = self
            .waited()
            .is_some_and(|waited| match self.last.replace((now, waited)) {
                Some((then, before)) => {
                    crowded(now.saturating_sub(then), waited.saturating_sub(before))
                }
                None => false,
            });
        let crowded = waiting || self.runnable().is_some_and(|n| n > self.cpus);
        self.history = (self.history << 1) | u8::from(crowded);
        self.history.count_ones() >= CROWDED_OF_EIGHT
    }

    /// Forgets the history (after a pause, old readings say nothing).
    pub(crate) fn reset(&mut self) {
        self.history = 0;
        self.last = None;
    }

    fn waited(&self) -> Option<u64> {
        let mut buf = [0u8; 96];
        parse_field(read(self.file.as_ref()?, &mut buf)?, 1, b' ')
    }

    fn runnable(&self) -> Option<usize> {
        let mut buf = [0u8; 128];
        let field = read(self.loadavg.as_ref()?, &mut buf)?
            .split(|b| *b == b' ')
            .nth(3)?;
        parse_field(field, 0, b'/').map(|n| n as usize)
    }
}

/// The start of `file` (read again from offset 0 each time, as /proc files want).
fn read<'b>(file: &File, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let n = file.read_at(buf, 0).ok()?;
        Some(&buf[..n])
    }
    #[cfg(not(unix))]
    {
        let _ = (file, buf);
        None
    }
}

/// Whether waiting `waited` ns during `elapsed` ns is too much.
fn crowded(elapsed: u64, waited: u64) -> bool {
    elapsed > 0 && waited * WAITING_SHARE > elapsed
}

/// Field `n` (from 0) of `text` split at `sep`, as a number: the run-queue wait of a
/// `schedstat` line (`cpu_ns wait_ns timeslices`), the running of `running/total`.
fn parse_field(text: &[u8], n: usize, sep: u8) -> Option<u64> {
    let field = text.split(|b| *b == sep).nth(n)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields() {
        assert_eq!(
            parse_field(b"384336297 133196675 1259\n", 1, b' '),
            Some(133196675)
        );
        assert_eq!(parse_field(b"384336297\n", 1, b' '), None);
        assert_eq!(parse_field(b"", 1, b' '), None);
        assert_eq!(parse_field(b"1 x 2", 1, b' '), None);
        assert_eq!(parse_field(b"3/158", 0, b'/'), Some(3));
    }

    #[test]
    fn an_eighth_of_the_interval_is_the_limit() {
        assert!(!crowded(8_000, 1_000));
        assert!(crowded(8_000, 1_001));
        assert!(!crowded(0, 5));
    }

    #[test]
    fn needs_several_recent_crowded_readings() {
        let mut c = Crowding {
            file: None,
            loadavg: None,
            cpus: 2,
            last: None,
            history: 0,
        };
        // Unreadable: each reading is an uncrowded one.
        assert!(!c.sample(1));
        c.file = File::open("/dev/null").ok();
        c.history = 0b0000_0011;
        assert!(!c.sample(2), "two crowded readings of eight are not enough");
        assert_eq!(c.history, 0b0000_0110);
        c.history = 0b0000_0111;
        assert!(c.sample(3), "three are");
        c.reset();
        assert_eq!((c.history, c.last), (0, None));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let mut c = Crowding::new(usize::MAX);
        assert!(
            c.waited().is_some(),
            "the main thread's schedstat is readable"
        );
        assert!(
            c.runnable().is_some_and(|n| n >= 1),
            "this test's thread is running"
        );
        // A first reading has nothing to compare with.
        assert!(!c.sample(1));
    }
}
