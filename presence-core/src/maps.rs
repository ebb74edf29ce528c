//! Keeping maps keyed by client input in step with what is live.

use std::collections::HashMap;
use std::hash::Hash;

/// Capacity a map may keep however empty it is: small enough not to matter.
pub const KEEP: usize = 4096;

/// Gives memory back once a map that grew (a burst of fresh post ids or
/// addresses) is mostly empty: a `HashMap` never shrinks by itself. Shrinks to
/// twice what is left when only a quarter of the room is used, so a map that
/// empties one entry at a time is rebuilt a logarithmic number of times.
pub fn shrink_if_sparse<K: Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > KEEP && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_that_empties_gives_its_memory_back() {
        let mut map: HashMap<u32, u32> = (0..100_000).map(|i| (i, i)).collect();
        let grown = map.capacity();
        for i in 0..100_000 {
            map.remove(&i);
            shrink_if_sparse(&mut map);
        }
        assert!(map.capacity() <= KEEP, "{grown} → {}", map.capacity());
        // A small map is left alone.
        let mut small: HashMap<u32, u32> = (0..100).map(|i| (i, i)).collect();
        let capacity = small.capacity();
        small.clear();
        shrink_if_sparse(&mut small);
        assert_eq!(small.capacity(), capacity);
    }
}
