//! N-API binding for bulwark: converts arguments, maps core errors to JS errors with
//! stable `code`s and owns promises and threadsafe functions. No product logic lives
//! here; that is in `bulwark-core` (`core/`).
#![deny(clippy::all)]

mod breaker;
mod cluster;
mod metrics;

use napi_derive::napi;

mod ratelimit;
mod redis;
mod slab;

/// The version of the native core, e.g. `"0.1.0"`. Used by the packaging check to
/// prove that the platform binary loaded.
#[napi(catch_unwind)]
pub fn native_version() -> String {
    bulwark_core::VERSION.to_owned()
}
