//! Native objects addressed from JS by a `u32` handle: a plain function taking a handle
//! costs a fraction of a `#[napi]` class method, whose receiver type check alone costs
//! more than the work behind many calls. Each kind keeps one slab per JS thread (a
//! `thread_local!`); freed handles are reused.

use napi::{Error, Result, Status};

/// Values by handle, with a free list.
pub struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value`; returns its handle.
    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(handle) => {
                self.entries[handle as usize] = Some(value);
                handle
            }
            None => {
                self.entries.push(Some(value));
                (self.entries.len() - 1) as u32
            }
        }
    }

    /// Frees `handle` (unknown or already freed handles are ignored).
    pub fn remove(&mut self, handle: u32) {
        if let Some(entry) = self.entries.get_mut(handle as usize) {
            if entry.take().is_some() {
                self.free.push(handle);
            }
        }
    }

    /// The value of a live handle.
    pub fn get(&self, handle: u32) -> Option<&T> {
        self.entries.get(handle as usize).and_then(Option::as_ref)
    }

    /// The value of a live handle, or an error naming `what` it should have been.
    pub fn get_mut(&mut self, handle: u32, what: &str) -> Result<&mut T> {
        self.entries
            .get_mut(handle as usize)
            .and_then(Option::as_mut)
            .ok_or_else(|| {
                Error::new(
                    Status::InvalidArg,
                    format!("{what} handle {handle} is not live"),
                )
            })
    }
}
