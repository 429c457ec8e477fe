//! Deterministic mutations of fuzz seeds for the replay test: a fixed-seed SplitMix64 generator
//! and libFuzzer-style byte edits (bit flips, byte overwrites with characters that matter to the
//! parsers, deletions, duplications, truncations, random insertions, splices with another seed).
//! The same generator seed always gives the same inputs, so a failure reproduces.
//!
//! Owns: turning one input into another. Must not touch: anything else.

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, good enough to pick edits.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A length for an edit: mostly short, sometimes long.
    fn len(&mut self, max: usize) -> usize {
        let cap = if self.below(8) == 0 { max } else { max.min(16) };
        1 + self.below(cap.max(1))
    }
}

/// Bytes that mean something to XML, base64, JSON, YAML, URLs, JWTs and Basic credentials.
const INTERESTING: &[u8] = b"\0\x01\x7f\x80\xc3\xff<>/&;\"'=%+:#[]{},.-_\\\n\r\t *!?|$@";

/// Longest mutated input (the targets' own caps are all below this).
const MAX_LEN: usize = 512 * 1024;

/// A mutation of `base`: one to four edits, `other` (another seed) as splice material.
pub fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = out.len();
        match rng.below(9) {
            0 if n > 0 => {
                let i = rng.below(n);
                out[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                out[i] = if rng.below(4) == 0 {
                    rng.next_u64() as u8
                } else {
                    INTERESTING[rng.below(INTERESTING.len())]
                };
            }
            2 if n > 0 => {
                let at = rng.below(n);
                let len = rng.len(n - at);
                out.drain(at..(at + len).min(n));
            }
            3 if n > 0 => {
                let at = rng.below(n);
                let len = rng.len(n - at).min(n - at);
                let chunk = out[at..at + len].to_vec();
                let to = rng.below(n + 1);
                out.splice(to..to, chunk);
            }
            4 => out.truncate(rng.below(n + 1)),
            5 if !other.is_empty() => {
                // Crossover: a piece of the other seed replaces a piece of this one.
                let from = rng.below(other.len());
                let len = rng.len(other.len() - from).min(other.len() - from);
                let at = rng.below(n + 1);
                let end = (at + rng.below(len + 1)).min(n);
                out.splice(at..end, other[from..from + len].iter().copied());
            }
            6 => {
                let at = rng.below(n + 1);
                let len = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..len)
                    .map(|_| INTERESTING[rng.below(INTERESTING.len())])
                    .collect();
                out.splice(at..at, bytes);
            }
            7 if n > 1 => {
                // Two bytes swap places.
                let (a, b) = (rng.below(n), rng.below(n));
                out.swap(a, b);
            }
            _ if n > 0 => {
                // A run of one byte repeated (deep nesting, long tokens).
                let at = rng.below(n);
                let byte = out[at];
                let len = rng.len(4096);
                out.splice(at..at, std::iter::repeat_n(byte, len));
            }
            _ => out.push(INTERESTING[rng.below(INTERESTING.len())]),
        }
    }
    out.truncate(MAX_LEN);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations_and_they_differ_from_the_base() {
        let base = b"\x00<samlp:Response ID=\"_1\"><a>text</a></samlp:Response>";
        let other = b"orgs:\n  - id: acme\n";
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200)
                .map(|_| mutate(&mut rng, base, other))
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(7), run(7));
        assert_eq!(a, b);
        assert_ne!(a, run(8));
        let changed = a.iter().filter(|m| m.as_slice() != base).count();
        assert!(
            changed > 180,
            "only {changed} of 200 mutations changed the input"
        );
        assert!(a.iter().any(|m| m.len() < base.len()));
        assert!(a.iter().any(|m| m.len() > base.len()));
    }

    #[test]
    fn an_empty_base_still_mutates() {
        let mut rng = Rng::new(1);
        for _ in 0..100 {
            let m = mutate(&mut rng, b"", b"");
            assert!(m.len() <= MAX_LEN);
        }
    }
}
