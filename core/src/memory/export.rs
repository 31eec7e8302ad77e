//! Reproducing keys as commands for a Redis server: how the client writes the keys
//! changed during an outage back to Redis after recovery (`recovery: 'replay'`).

use super::num;
use super::store::Value;
use super::Engine;

/// The commands that make one key on a Redis server what it is in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRestore {
    /// The database the key lives in.
    pub db: usize,
    /// The key.
    pub key: Vec<u8>,
    /// `DEL key`, then (when the key exists) the writes that rebuild its value and a
    /// `PEXPIRE` with the remaining time to live; run them in one MULTI/EXEC.
    pub commands: Vec<Vec<Vec<u8>>>,
}

fn command(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

impl Engine {
    /// For each `(db, key)`, the commands that recreate it on Redis as it is now in
    /// the engine: deleted, expired and evicted keys become a plain `DEL`; others keep
    /// their remaining TTL. Read under one lock, so the keys form one snapshot.
    pub fn restore_commands(&self, keys: &[(usize, Vec<u8>)]) -> Vec<KeyRestore> {
        let now = self.shared.clock.now_ms();
        let mut st = self.shared.state.lock();
        keys.iter()
            .map(|(db, key)| {
                let mut commands = vec![command(&[b"DEL", key])];
                if let Some(entry) = st.peek(*db, key, now) {
                    let mut write = |name: &[u8], items: Vec<Vec<u8>>| {
                        let mut c = vec![name.to_vec(), key.clone()];
                        c.extend(items);
                        commands.push(c);
                    };
                    match &entry.value {
                        Value::Str(s) => write(b"SET", vec![s.clone()]),
                        Value::List(l) => write(b"RPUSH", l.items.iter().cloned().collect()),
                        Value::Hash(h) => write(
                            b"HSET",
                            h.map
                                .iter()
                                .flat_map(|(f, v)| [f.to_vec(), v.clone()])
                                .collect(),
                        ),
                        Value::Set(s) => write(b"SADD", s.members().map(|m| m.to_vec()).collect()),
                        Value::ZSet(z) => write(
                            b"ZADD",
                            z.tree
                                .iter()
                                .flat_map(|(score, m)| {
                                    [num::format_f64(score.0).into_bytes(), m.to_vec()]
                                })
                                .collect(),
                        ),
                    }
                    if let Some(at) = entry.expires_at {
                        // Relative, so the Redis server's clock decides (the app's may be skewed).
                        let ms = at.saturating_sub(now).max(1);
                        commands.push(command(&[b"PEXPIRE", key, ms.to_string().as_bytes()]));
                    }
                }
                KeyRestore {
                    db: *db,
                    key: key.clone(),
                    commands,
                }
            })
            .collect()
    }

    /// Records `keys` as written again (tracking must be on), e.g. after writing them
    /// back to Redis failed, so the next drain returns them.
    pub fn mark_written(&self, keys: impl IntoIterator<Item = (usize, Vec<u8>)>) {
        let mut st = self.shared.state.lock();
        if let Some(written) = st.written.as_mut() {
            written.extend(keys);
        }
    }

    /// Empties every database (FLUSHALL); loaded scripts stay, as in Redis.
    pub fn flush_all(&self) {
        self.shared.state.lock().flush(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{ManualClock, MemoryConfig};
    use std::sync::Arc;

    fn run(engine: &Engine, args: &[&str]) {
        let mut s = engine.session();
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        engine.execute(&mut s, &args);
    }

    fn text(restore: &KeyRestore) -> Vec<String> {
        restore
            .commands
            .iter()
            .map(|c| {
                c.iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn every_type_with_its_remaining_ttl() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let engine = Engine::with_clock(MemoryConfig::default(), clock.clone());
        run(&engine, &["SET", "s", "v", "PX", "5000"]);
        run(&engine, &["RPUSH", "l", "a", "b"]);
        run(&engine, &["HSET", "h", "f", "1"]);
        run(&engine, &["SADD", "set", "m"]);
        run(&engine, &["ZADD", "z", "0.1", "x", "2", "y"]);
        clock.advance(1000);
        let keys: Vec<(usize, Vec<u8>)> = ["s", "l", "h", "set", "z", "gone"]
            .iter()
            .map(|k| (0, k.as_bytes().to_vec()))
            .collect();
        let restores = engine.restore_commands(&keys);
        assert_eq!(text(&restores[0]), ["DEL s", "SET s v", "PEXPIRE s 4000"]);
        assert_eq!(text(&restores[1]), ["DEL l", "RPUSH l a b"]);
        assert_eq!(text(&restores[2]), ["DEL h", "HSET h f 1"]);
        assert_eq!(text(&restores[3]), ["DEL set", "SADD set m"]);
        assert_eq!(
            text(&restores[4]),
            ["DEL z", "ZADD z 0.10000000000000001 x 2 y"]
        );
        assert_eq!(text(&restores[5]), ["DEL gone"]);
        clock.advance(5000);
        assert_eq!(text(&engine.restore_commands(&keys[..1])[0]), ["DEL s"]);
    }

    #[test]
    fn mark_written_and_flush_all() {
        let engine = Engine::new(MemoryConfig::default());
        engine.track_writes(true);
        run(&engine, &["SET", "a", "1"]);
        let drained = engine.drain_written();
        assert_eq!(drained, vec![(0, b"a".to_vec())]);
        assert!(engine.drain_written().is_empty());
        engine.mark_written(drained.clone());
        assert_eq!(engine.drain_written(), drained);
        engine.flush_all();
        assert_eq!(engine.stats().keys, 0);
    }
}
