//! The slot map: which primary (and which replicas) serve each hash slot, read with
//! `CLUSTER SLOTS` from one node over a short-lived connection.

use redis::Value;

use crate::client::{describe, Address, ClientOptions};

/// One slot range and its nodes (`host:port`), as CLUSTER SLOTS lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// First slot.
    pub from: u16,
    /// Last slot (inclusive).
    pub to: u16,
    /// The primary serving it.
    pub master: String,
    /// Its replicas.
    pub replicas: Vec<String>,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// `host:port` split at its last colon.
pub fn split(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

/// Parses a CLUSTER SLOTS reply; `asked` stands in for nodes announced with an empty
/// IP (a node that does not know its own address), `nat` remaps announced addresses.
fn parse(
    reply: &Value,
    asked: &str,
    nat: &(dyn Fn(String) -> String + Sync),
) -> Option<Vec<Range>> {
    let Value::Array(entries) = reply else {
        return None;
    };
    let asked_host = split(asked).map(|(h, _)| h).unwrap_or_default();
    let mut ranges = Vec::new();
    for entry in entries {
        let Value::Array(parts) = entry else { continue };
        let int = |v: Option<&Value>| match v {
            Some(Value::Int(n)) => u16::try_from(*n).ok(),
            _ => None,
        };
        let (Some(from), Some(to)) = (int(parts.first()), int(parts.get(1))) else {
            continue;
        };
        let mut nodes = parts[2..].iter().filter_map(|node| {
            let Value::Array(node) = node else {
                return None;
            };
            let host = text(node.first()?)?;
            let host = if host.is_empty() || host == "?" {
                asked_host.clone()
            } else {
                host
            };
            let port = match node.get(1)? {
                Value::Int(p) => *p,
                _ => return None,
            };
            Some(nat(format!("{host}:{port}")))
        });
        let Some(master) = nodes.next() else { continue };
        ranges.push(Range {
            from,
            to,
            master,
            replicas: nodes.collect(),
        });
    }
    Some(ranges)
}

/// Reads the slot map from the node at `addr` (connection options from `template`).
/// The node's error as `(code, message)`: a server's reply text (`ERR …`) or Node's
/// wording of an I/O error (`connect ECONNREFUSED …`), as ioredis's `lastNodeError` holds.
pub async fn fetch(
    template: &ClientOptions,
    addr: &str,
    nat: &(dyn Fn(String) -> String + Sync),
) -> Result<Vec<Range>, (String, String)> {
    let failed = |message: String| (String::new(), message);
    let (host, port) = split(addr).ok_or_else(|| failed(format!("bad node address {addr}")))?;
    let address = Address::Tcp { host, port };
    let options = ClientOptions {
        address: address.clone(),
        ready_check: false,
        subscriber: false,
        client_name: None,
        fallback: None,
        sentinel: None,
        ..template.clone()
    };
    let (mut conn, _) = crate::client::establish(&options, 0).await?;
    // Spelled as ioredis sends it (`cluster SLOTS`): Redis ignores the case, but mock
    // servers written for ioredis's tests match these exact bytes.
    let reply: Value = redis::cmd("cluster")
        .arg("SLOTS")
        .query_async(&mut conn)
        .await
        .map_err(|e| describe(e, &address))?;
    let ranges =
        parse(&reply, addr, nat).ok_or_else(|| failed("unexpected CLUSTER SLOTS reply".into()))?;
    if ranges.is_empty() {
        return Err(failed("the node serves no slots".into()));
    }
    Ok(ranges)
}
