//! Names and uids the server makes up, in Kubernetes' formats.

use rand::Rng;

/// The alphabet Kubernetes uses for generated name suffixes: no vowels, no look-alikes.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A 5-character suffix as `generateName` and controllers append.
pub fn name_suffix(rng: &mut impl Rng) -> String {
    (0..5)
        .map(|_| SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())] as char)
        .collect()
}

/// `n` random lowercase hex digits.
pub fn hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A small stable hash (FNV-1a): made-up values derived from it are the same for the same
/// object in every run.
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// 32 hex digits derived from `seed`, the same in every run (a node's machine-id).
pub fn stable_hex(seed: &str) -> String {
    format!(
        "{:016x}{:016x}",
        stable_hash(seed),
        stable_hash(&format!("{seed}/2"))
    )
}

/// A UUID derived from `seed`, the same in every run (a node's system UUID, its boot id).
pub fn stable_uuid(seed: &str) -> String {
    uuid_of(&stable_hex(seed))
}

/// A version-4 UUID, as metadata.uid.
pub fn uid(rng: &mut impl Rng) -> String {
    uuid_of(&hex(rng, 32))
}

/// 32 hex digits laid out as a version-4 UUID.
fn uuid_of(h: &str) -> String {
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn formats_match_kubernetes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let suffix = name_suffix(&mut rng);
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| SUFFIX_ALPHABET.contains(&b)));
        let uid = uid(&mut rng);
        let groups: Vec<usize> = uid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&uid[14..15], "4");
    }
}
