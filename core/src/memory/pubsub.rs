//! In-process publish/subscribe: a registry of subscribed sessions and their
//! message sinks. Publishing only collects deliveries; the engine hands them
//! to the sinks after releasing its lock, so a sink may call back into the engine.

use std::collections::HashMap;
use std::sync::Arc;

use super::glob;

/// A message delivered to a subscribed session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The pattern that matched for a PSUBSCRIBE delivery (`pmessage`), `None` for
    /// a plain channel subscription (`message`).
    pub pattern: Option<Vec<u8>>,
    /// The channel it was published to.
    pub channel: Vec<u8>,
    /// The published payload.
    pub payload: Vec<u8>,
}

/// Where a session's messages go. Called on the publisher's thread, after the
/// engine lock is released, once per matching subscription.
pub type MessageSink = Arc<dyn Fn(Message) + Send + Sync>;

/// A message waiting to be handed to its sink.
pub(crate) type Delivery = (MessageSink, Message);

/// Subscribers by channel and by pattern.
#[derive(Default)]
pub(crate) struct PubSub {
    channels: HashMap<Vec<u8>, Vec<(u64, MessageSink)>>,
    patterns: HashMap<Vec<u8>, Vec<(u64, MessageSink)>>,
}

fn add(
    map: &mut HashMap<Vec<u8>, Vec<(u64, MessageSink)>>,
    name: &[u8],
    sid: u64,
    sink: &MessageSink,
) {
    let subs = map.entry(name.to_vec()).or_default();
    if !subs.iter().any(|(s, _)| *s == sid) {
        subs.push((sid, sink.clone()));
    }
}

fn remove(map: &mut HashMap<Vec<u8>, Vec<(u64, MessageSink)>>, name: &[u8], sid: u64) {
    if let Some(subs) = map.get_mut(name) {
        subs.retain(|(s, _)| *s != sid);
        if subs.is_empty() {
            map.remove(name);
        }
    }
}

impl PubSub {
    pub(crate) fn subscribe(&mut self, channel: &[u8], sid: u64, sink: &MessageSink) {
        add(&mut self.channels, channel, sid, sink);
    }
    pub(crate) fn unsubscribe(&mut self, channel: &[u8], sid: u64) {
        remove(&mut self.channels, channel, sid);
    }
    pub(crate) fn psubscribe(&mut self, pattern: &[u8], sid: u64, sink: &MessageSink) {
        add(&mut self.patterns, pattern, sid, sink);
    }
    pub(crate) fn punsubscribe(&mut self, pattern: &[u8], sid: u64) {
        remove(&mut self.patterns, pattern, sid);
    }

    /// Queues one delivery per matching subscription; returns how many (PUBLISH's reply).
    pub(crate) fn publish(&self, channel: &[u8], payload: &[u8], out: &mut Vec<Delivery>) -> i64 {
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            for (_, sink) in subs {
                let msg = Message {
                    pattern: None,
                    channel: channel.to_vec(),
                    payload: payload.to_vec(),
                };
                out.push((sink.clone(), msg));
                n += 1;
            }
        }
        for (pattern, subs) in &self.patterns {
            if glob::matches(pattern, channel) {
                for (_, sink) in subs {
                    let msg = Message {
                        pattern: Some(pattern.clone()),
                        channel: channel.to_vec(),
                        payload: payload.to_vec(),
                    };
                    out.push((sink.clone(), msg));
                    n += 1;
                }
            }
        }
        n
    }
}
