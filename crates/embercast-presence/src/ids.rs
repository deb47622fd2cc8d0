//! Identities the runtime hands out: owner ids, `phx_ref`s, replica
//! incarnations, and the topic → shard hash every node must agree on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use embercast_tracker::OwnerId;

/// 64 random bits drawn once per process.
fn process_salt() -> u64 {
    static SALT: OnceLock<u64> = OnceLock::new();
    *SALT.get_or_init(|| {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS random number generator");
        u64::from_le_bytes(bytes)
    })
}

/// A new owner id, unique in the cluster.
///
/// Presences are identified by (topic, owner, key) across every node, so two
/// nodes must never hand out the same owner id. Each process counts up from a
/// random 64-bit start: two nodes collide only if their ranges overlap, which
/// for n ids in all happens with probability about n / 2^64.
pub(crate) fn next_owner_id() -> OwnerId {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    OwnerId(process_salt().wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// A fresh `phx_ref`: URL-safe base64 of 16 bytes (this process's salt and a
/// counter), so unique across the cluster without coordination. Phoenix's refs
/// encode a timestamp instead; clients only compare them (PROTOCOL.md §9.2).
pub(crate) fn next_phx_ref() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&process_salt().to_be_bytes());
    bytes[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A replica incarnation number: microseconds since the epoch, and always
/// above any this process issued before, so a tracker restarted under the same
/// name is a newer incarnation (peers refuse older ones).
pub(crate) fn next_vsn() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    let prev = LAST.fetch_max(now, Ordering::Relaxed);
    if prev >= now {
        LAST.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        now
    }
}

/// The shard of `topic` among `pool_size`: FNV-1a, fixed so that every node,
/// whatever its build, puts a topic in the same shard group.
pub(crate) fn shard_of(topic: &str, pool_size: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in topic.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % pool_size as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phx_refs_are_unique_and_url_safe() {
        let a = next_phx_ref();
        let b = next_phx_ref();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
    }

    #[test]
    fn owner_ids_and_vsns_grow() {
        assert_ne!(next_owner_id(), next_owner_id());
        let v1 = next_vsn();
        let v2 = next_vsn();
        assert!(v2 > v1, "{v1} {v2}");
    }

    #[test]
    fn the_shard_hash_is_fixed() {
        // FNV-1a 64 of "room:lobby" is fixed by its definition; pinning it
        // catches a change that would split a cluster of mixed builds.
        assert_eq!(shard_of("room:lobby", 1 << 62), 0x138b_b1f5_6175_8538);
        assert_eq!(shard_of("anything", 1), 0);
        let spread: std::collections::HashSet<_> = (0..100).map(|i| shard_of(&format!("room:{i}"), 8)).collect();
        assert_eq!(spread.len(), 8);
    }
}
