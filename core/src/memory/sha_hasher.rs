//! The hasher of maps keyed by scripts' SHA1 hex digests (the script cache, the known
//! scripts): a word-at-a-time multiply-rotate (FxHash's step) instead of SipHash, which
//! costs more than the rest of the lookup on a 40-byte key, and a rate-limit decision checks
//! its script on every call. Safe from flooding: the keys inserted are SHA1 digests of
//! script bodies, which nobody can choose to collide; only lookups take arbitrary strings.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by SHA1 hex digests.
pub(crate) type ShaMap<V> = HashMap<String, V, BuildHasherDefault<ShaHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub(crate) struct ShaHasher(u64);

impl ShaHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_digests_and_tells_apart_keys_differing_in_any_byte() {
        let mut map: ShaMap<usize> = ShaMap::default();
        let keys: Vec<String> = (0..200).map(|i| format!("{i:040x}")).collect();
        for (i, k) in keys.iter().enumerate() {
            map.insert(k.clone(), i);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.get(k.as_str()), Some(&i));
        }
        assert_eq!(map.get(""), None);
        assert_eq!(map.get("0"), None);
        assert_eq!(map.get(&format!("{:040x}", 1000)), None);
    }
}
