//! bulwark's core: everything that is not N-API glue.
//!
//! This crate never depends on `napi`; the binding crate at the repository root
//! converts its types to JavaScript. Each concern gets one module.

pub mod breaker;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod memory;
pub mod metrics;
pub mod ratelimit;
pub mod reply;

pub use reply::Reply;

/// The version of the core, as built (the same as the npm package's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::VERSION;

    #[test]
    fn version_is_semver() {
        let parts: Vec<&str> = VERSION.split('.').collect();
        assert_eq!(parts.len(), 3, "{VERSION}");
        assert!(parts.iter().all(|p| p.parse::<u64>().is_ok()), "{VERSION}");
    }
}
