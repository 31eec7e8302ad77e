//! Connection options, already validated by the caller (the JS facade checks types
//! and ranges and names the offending option).

use std::time::Duration;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// TCP host and port.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A unix domain socket path.
    Unix(String),
}

/// TLS settings (`rediss://` or the `tls` option).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any certificate and host name (ioredis `tls.rejectUnauthorized: false`).
    pub insecure: bool,
    /// PEM root certificate(s) to trust instead of the system store (`tls.ca`).
    pub ca: Option<Vec<u8>>,
    /// PEM client certificate chain and private key, for servers that require client
    /// certificates (`tls.cert` and `tls.key`, given together).
    pub client: Option<ClientCertificate>,
}

/// A client certificate for mutual TLS.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientCertificate {
    /// PEM certificate chain (`tls.cert`).
    pub cert: Vec<u8>,
    /// PEM private key, unencrypted (`tls.key`).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a private key.
        f.write_str("ClientCertificate { .. }")
    }
}

/// Everything a connection needs; see docs/redis-client.md for the JS names.
#[derive(Clone)]
pub struct ClientOptions {
    /// Server address.
    pub address: Address,
    /// TLS, when enabled.
    pub tls: Option<TlsOptions>,
    /// ACL user name (`AUTH user pass`), if any.
    pub username: Option<String>,
    /// Password; never printed (the `Debug` output of this struct redacts it).
    pub password: Option<String>,
    /// Database selected after every (re)connect.
    pub db: u32,
    /// `CLIENT SETNAME` after every (re)connect.
    pub client_name: Option<String>,
    /// Deadline for TCP connect + TLS + handshake.
    pub connect_timeout: Duration,
    /// Per-command deadline (`commandTimeout`); `None` waits forever.
    pub command_timeout: Option<Duration>,
    /// Queue commands while not connected (`enableOfflineQueue`).
    pub offline_queue: bool,
    /// Fail queued commands every `n + 1` failed attempts (`maxRetriesPerRequest`);
    /// `None` keeps them until the connection is back or the client ends.
    pub max_retries_per_request: Option<u32>,
    /// Most commands waiting (offline) or in flight at once.
    pub max_queue_len: usize,
    /// Most argument bytes waiting or in flight at once.
    pub max_queue_bytes: usize,
    /// Wait for `loading:0` in `INFO persistence` before `ready` (`enableReadyCheck`).
    pub ready_check: bool,
    /// An idle connection is probed with PING this often; a probe that gets no reply
    /// within the same period marks the connection dead. `None` disables probing.
    pub ping_interval: Option<Duration>,
    /// A pub/sub connection: speaks RESP3 so published messages arrive as push frames
    /// next to ordinary replies ([`super::Delivery::Message`]). Only subscribe-family
    /// commands and PING are sent on it.
    pub subscriber: bool,
    /// Commands in flight when a connection drops are sent again after the reconnect
    /// (ioredis `autoResendUnfulfilledCommands`); otherwise they fail with `Aborted`.
    pub resend_unfulfilled: bool,
    /// Fail over to the in-process memory engine (`None`: ioredis semantics, errors
    /// included).
    pub fallback: Option<super::FallbackOptions>,
    /// Where command counts and latencies are recorded (`None`: not recorded).
    pub metrics: Option<std::sync::Arc<crate::metrics::CommandMetrics>>,
    /// Sentinel mode: the address is resolved through sentinels before every connect.
    pub sentinel: Option<super::SentinelOptions>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            address: Address::Tcp {
                host: "localhost".into(),
                port: 6379,
            },
            tls: None,
            username: None,
            password: None,
            db: 0,
            client_name: None,
            connect_timeout: Duration::from_secs(10),
            command_timeout: None,
            offline_queue: true,
            max_retries_per_request: Some(20),
            max_queue_len: 100_000,
            max_queue_bytes: 256 << 20,
            ready_check: true,
            ping_interval: Some(Duration::from_secs(1)),
            subscriber: false,
            resend_unfulfilled: true,
            fallback: None,
            metrics: None,
            sentinel: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("address", &self.address)
            .field("tls", &self.tls.is_some())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("client_name", &self.client_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("offline_queue", &self.offline_queue)
            .field("max_retries_per_request", &self.max_retries_per_request)
            .field("max_queue_len", &self.max_queue_len)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("ready_check", &self.ready_check)
            .field("ping_interval", &self.ping_interval)
            .field("subscriber", &self.subscriber)
            .field("resend_unfulfilled", &self.resend_unfulfilled)
            .field("fallback", &self.fallback)
            .field("sentinel", &self.sentinel.as_ref().map(|s| &s.name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_password() {
        let options = ClientOptions {
            password: Some("hunter2-secret".into()),
            ..ClientOptions::default()
        };
        let text = format!("{options:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
