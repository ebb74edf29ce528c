//! FNV-1a, 32 bits: tiny, and stable across builds, platforms and releases. It
//! decides which cluster shard a post lives in (`keys.rs`), so it must never
//! change; it also names a build of the embed script (its ETag).

const OFFSET: u32 = 0x811c_9dc5;
const PRIME: u32 = 0x0100_0193;

pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_vectors() {
        // From the FNV reference test suite (fnv-32a).
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    }
}
