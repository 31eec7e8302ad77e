//! Sentinel mode: before every connect the client asks the sentinels where the primary
//! (or a replica) of `name` is and checks that node's `ROLE`; a watcher subscribed to
//! `+switch-master` makes the client leave a demoted primary as soon as the sentinels
//! switch, instead of writing to it until it is converted (ioredis's default, which
//! loses acknowledged writes for ~10 s after a `SENTINEL FAILOVER`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use redis::Value;
use tokio::sync::mpsc::WeakUnboundedSender;

use super::link::establish;
use super::{Address, ClientOptions, Msg, TlsOptions};

/// How a sentinel-mode client finds its server.
#[derive(Debug, Clone)]
pub struct SentinelOptions {
    /// Sentinel addresses, tried in order (the last one that answered goes first).
    pub sentinels: Vec<(String, u16)>,
    /// The monitored primary's name.
    pub name: String,
    /// Connect to a replica (`role: 'slave'`) instead of the primary.
    pub replica: bool,
    /// ACL user on the sentinels (`sentinelUsername`).
    pub username: Option<String>,
    /// Password on the sentinels (`sentinelPassword`); never printed.
    pub password: Option<String>,
    /// TLS to the sentinels (`enableTLSForSentinelMode`).
    pub tls: Option<TlsOptions>,
    /// Addresses the sentinels announce, remapped (`natMap`): `("ip:port", host, port)`.
    pub nat: Vec<(String, String, u16)>,
    /// Replica preference (`preferredSlaves`): `(ip, port, priority)`, lowest first.
    pub preferred: Vec<(String, u16, i32)>,
    /// Reconnect on `+switch-master` (default true; ioredis's `failoverDetector`).
    pub follow_switch: bool,
    /// Deadline of each request to a sentinel (`sentinelCommandTimeout`); absent: the
    /// connect timeout, at most 2 s.
    pub command_timeout: Option<Duration>,
    /// The sentinel that answered last, tried first next time.
    first: Arc<Preferred>,
    /// Sentinels learned from `SENTINEL sentinels <name>` (ioredis's `updateSentinels`),
    /// tried after the configured ones.
    learned: Arc<Mutex<Vec<(String, u16)>>>,
}

/// An error as `(code, message)`, the dispatcher's connection error shape.
type Failed = (String, String);

/// `request` to the sentinel at `host:port`, failed with ETIMEDOUT past `deadline`: a
/// paused sentinel accepts connections and never answers, so every step is bounded.
async fn within<T>(
    deadline: Duration,
    host: &str,
    port: u16,
    request: impl Future<Output = Result<T, Failed>>,
) -> Result<T, Failed> {
    tokio::time::timeout(deadline, request)
        .await
        .unwrap_or_else(|_| {
            Err((
                "ETIMEDOUT".into(),
                format!(
                    "sentinel {host}:{port} did not answer within {} ms",
                    deadline.as_millis()
                ),
            ))
        })
}

fn node_options(
    base: &ClientOptions,
    sentinel: &SentinelOptions,
    host: &str,
    port: u16,
) -> ClientOptions {
    ClientOptions {
        address: Address::Tcp {
            host: host.to_owned(),
            port,
        },
        tls: sentinel.tls.clone(),
        username: sentinel.username.clone(),
        password: sentinel.password.clone(),
        db: 0,
        client_name: None,
        ready_check: false,
        subscriber: false,
        fallback: None,
        sentinel: None,
        ..base.clone()
    }
}

fn bulk_text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `field → value` of one `SENTINEL replicas` entry (a flat array in RESP2, a map in RESP3).
fn fields(entry: &Value) -> Vec<(String, String)> {
    match entry {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| Some((bulk_text(kv.first()?)?, bulk_text(kv.get(1)?)?)))
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((bulk_text(k)?, bulk_text(v)?)))
            .collect(),
        _ => Vec::new(),
    }
}

impl SentinelOptions {
    /// Options for the primary `name` behind `sentinels`, with ioredis's defaults.
    pub fn new(sentinels: Vec<(String, u16)>, name: String) -> Self {
        Self {
            sentinels,
            name,
            replica: false,
            username: None,
            password: None,
            tls: None,
            nat: Vec::new(),
            preferred: Vec::new(),
            follow_switch: true,
            command_timeout: None,
            first: Arc::default(),
            learned: Arc::default(),
        }
    }

    /// How long one request to a sentinel (connecting included: its handshake is a
    /// request too) may take before the next sentinel is asked.
    fn request_deadline(&self, base: &ClientOptions) -> Duration {
        self.command_timeout
            .unwrap_or_else(|| base.connect_timeout.min(Duration::from_secs(2)))
    }

    /// The configured sentinels, then the learned ones.
    fn all(&self) -> Vec<(String, u16)> {
        let mut all = self.sentinels.clone();
        for known in self.learned.lock().iter() {
            if !all.contains(known) {
                all.push(known.clone());
            }
        }
        all
    }

    /// Adds the peers a sentinel knows for `name` to the sentinels to try.
    async fn learn(&self, conn: &mut redis::aio::MultiplexedConnection) {
        let Ok(Value::Array(entries)) = redis::cmd("SENTINEL")
            .arg("sentinels")
            .arg(&self.name)
            .query_async::<Value>(conn)
            .await
        else {
            return;
        };
        let peers = entries.iter().map(fields).filter_map(|f| {
            let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            Some(self.nat(get("ip")?, get("port")?.parse().ok()?))
        });
        let mut learned = self.learned.lock();
        for peer in peers {
            if !self.sentinels.contains(&peer) && !learned.contains(&peer) {
                learned.push(peer);
            }
        }
    }

    fn nat(&self, host: String, port: u16) -> (String, u16) {
        let key = format!("{host}:{port}");
        self.nat
            .iter()
            .find(|(from, ..)| *from == key)
            .map_or((host, port), |(_, h, p)| (h.clone(), *p))
    }

    /// Asks one sentinel for the candidates: the primary, or the healthy replicas.
    async fn ask(
        &self,
        base: &ClientOptions,
        host: &str,
        port: u16,
    ) -> Result<Vec<(String, u16)>, Failed> {
        let deadline = self.request_deadline(base);
        let node = node_options(base, self, host, port);
        let (mut conn, _) = within(deadline, host, port, establish(&node, 0)).await?;
        within(deadline, host, port, async {
            self.learn(&mut conn).await;
            Ok(())
        })
        .await?;
        let fail = |e: redis::RedisError| (String::new(), format!("sentinel {host}:{port}: {e}"));
        if !self.replica {
            let mut query = redis::cmd("SENTINEL");
            query.arg("get-master-addr-by-name").arg(&self.name);
            let addr = within(deadline, host, port, async {
                query.query_async::<Value>(&mut conn).await.map_err(fail)
            })
            .await?;
            return match addr {
                Value::Array(parts) if parts.len() == 2 => {
                    let ip = bulk_text(&parts[0]).unwrap_or_default();
                    let port = bulk_text(&parts[1])
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    Ok(vec![self.nat(ip, port)])
                }
                _ => Err((
                    String::new(),
                    format!(
                        "sentinel {host}:{port} does not know the primary named \"{}\"",
                        self.name
                    ),
                )),
            };
        }
        let mut query = redis::cmd("SENTINEL");
        query.arg("replicas").arg(&self.name);
        let replicas = within(deadline, host, port, async {
            query.query_async::<Value>(&mut conn).await.map_err(fail)
        })
        .await?;
        let Value::Array(entries) = replicas else {
            return Ok(Vec::new());
        };
        let mut healthy: Vec<(String, u16)> = entries
            .iter()
            .map(fields)
            .filter(|f| {
                let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
                let flags = get("flags").unwrap_or("");
                !flags.contains("s_down")
                    && !flags.contains("o_down")
                    && !flags.contains("disconnected")
                    && get("master-link-status") != Some("err")
            })
            .filter_map(|f| {
                let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
                Some(self.nat(get("ip")?, get("port")?.parse().ok()?))
            })
            .collect();
        if self.preferred.is_empty() {
            // Spread replica clients over the replicas, as ioredis picks one at random.
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as usize);
            if !healthy.is_empty() {
                let at = seed % healthy.len();
                healthy.rotate_left(at);
            }
        } else {
            let rank = |(h, p): &(String, u16)| {
                self.preferred
                    .iter()
                    .find(|(ph, pp, _)| ph == h && pp == p)
                    .map_or(i32::MAX, |(.., prio)| *prio)
            };
            healthy.sort_by_key(rank);
        }
        Ok(healthy)
    }

    /// Whether the node at `host:port` has the role this client wants.
    async fn role_matches(&self, options: &ClientOptions) -> Result<bool, Failed> {
        let probe = ClientOptions {
            db: 0,
            ready_check: false,
            subscriber: false,
            client_name: None,
            ..options.clone()
        };
        let (mut conn, _) = establish(&probe, 0).await?;
        let role: Value = redis::cmd("ROLE")
            .query_async(&mut conn)
            .await
            .map_err(|e| (String::new(), e.to_string()))?;
        let first = match &role {
            Value::Array(parts) => parts.first().and_then(bulk_text),
            _ => None,
        };
        Ok(match first.as_deref() {
            Some("master") => !self.replica,
            Some("slave") => self.replica,
            _ => false,
        })
    }
}

/// The sentinel that answered last, shared by the resolver and the watcher.
#[derive(Debug, Default)]
struct Preferred(Mutex<usize>);

/// `options` with its address replaced by the node the sentinels name now (unchanged
/// when the client is not in sentinel mode).
pub(super) async fn resolve(mut options: ClientOptions) -> Result<ClientOptions, Failed> {
    let Some(sentinel) = options.sentinel.clone() else {
        return Ok(options);
    };
    let sentinels = sentinel.all();
    let count = sentinels.len();
    let first = sentinel.first.clone();
    let start = *first.0.lock();
    let mut last: Failed = (String::new(), "no sentinel configured".into());
    let per_try = options.connect_timeout.min(Duration::from_secs(2));
    for i in 0..count {
        let at = (start + i) % count;
        let (host, port) = &sentinels[at];
        let candidates = match sentinel.ask(&options, host, *port).await {
            Ok(candidates) => candidates,
            Err(err) => {
                last = err;
                continue;
            }
        };
        *first.0.lock() = at;
        for (host, port) in candidates {
            options.address = Address::Tcp { host, port };
            match tokio::time::timeout(per_try, sentinel.role_matches(&options)).await {
                Ok(Ok(true)) => return Ok(options),
                Ok(Ok(false)) => {
                    last =
                        (
                            String::new(),
                            format!(
                            "the node sentinels name is not a {} yet (a failover is in progress)",
                            if sentinel.replica { "replica" } else { "primary" }
                        ),
                        )
                }
                Ok(Err(err)) => last = err,
                Err(_) => {
                    last = (
                        "ETIMEDOUT".into(),
                        "the named node did not answer ROLE".into(),
                    )
                }
            }
        }
        if sentinel.replica {
            last = (
                String::new(),
                format!("no healthy replica of \"{}\"", sentinel.name),
            );
        }
    }
    Err((
        last.0,
        format!(
            "All sentinels are unreachable or name no usable node. Last error: {}",
            last.1
        ),
    ))
}

/// Watches `+switch-master` on one sentinel at a time; on a switch of this client's
/// primary, asks the dispatcher to reconnect (commands in flight are held and re-sent
/// when failover is on). Ends when the client does.
pub(super) fn watch(options: &ClientOptions, tx: WeakUnboundedSender<Msg>) {
    let Some(sentinel) = options.sentinel.clone() else {
        return;
    };
    if !sentinel.follow_switch {
        return;
    }
    let options = options.clone();
    let first = sentinel.first.clone();
    let alive = move || tx.upgrade().filter(|tx| !tx.is_closed());
    super::runtime().spawn(async move {
        let mut turn = 0usize;
        while alive().is_some() {
            let sentinels = sentinel.all();
            let at = (*first.0.lock() + turn) % sentinels.len();
            turn += 1;
            let (host, port) = &sentinels[at];
            let subscriber = ClientOptions {
                subscriber: true,
                ..node_options(&options, &sentinel, host, *port)
            };
            let deadline = sentinel.request_deadline(&options);
            let Ok((mut conn, mut pushes)) =
                within(deadline, host, *port, establish(&subscriber, 0)).await
            else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            let subscribed = within(deadline, host, *port, async {
                redis::cmd("SUBSCRIBE")
                    .arg("+switch-master")
                    .exec_async(&mut conn)
                    .await
                    .map_err(|e| (String::new(), e.to_string()))
            });
            if subscribed.await.is_err() {
                continue;
            }
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    push = pushes.recv() => {
                        let Some(push) = push else { break };
                        if push.kind == redis::PushKind::Disconnection {
                            break;
                        }
                        if push.kind != redis::PushKind::Message {
                            continue;
                        }
                        // Payload: "<name> <old-ip> <old-port> <new-ip> <new-port>".
                        let payload = push.data.get(1).and_then(bulk_text).unwrap_or_default();
                        if payload.split(' ').next() == Some(sentinel.name.as_str()) {
                            match alive() {
                                Some(tx) => drop(tx.send(Msg::Disconnect { reconnect: true })),
                                None => return,
                            }
                        }
                    }
                    _ = tick.tick() => if alive().is_none() { return },
                }
            }
        }
    });
}
