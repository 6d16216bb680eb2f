//! Deterministic pseudo-random bytes for `/bytes/<n>?seed=S`.

use std::io::{self, Read};

/// The bytes `/bytes/<len>?seed=<seed>` serves, as a reader, so a test can compute what a
/// download should contain without storing it.
///
/// The stream is xorshift64* (state `seed ^ 0x9E37_79B9_7F4A_7C15`, or 1 if that is 0), each
/// step giving 8 bytes little-endian.
///
/// ```
/// use std::io::Read;
/// let mut a = Vec::new();
/// testbed::PseudoRandomBytes::new(7, 10).read_to_end(&mut a)?;
/// let mut b = Vec::new();
/// testbed::PseudoRandomBytes::new(7, 20).read_to_end(&mut b)?;
/// assert_eq!(a.len(), 10);
/// assert_eq!(a[..], b[..10]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PseudoRandomBytes {
    state: u64,
    word: [u8; 8],
    /// Bytes of `word` already handed out (8 = need a new word).
    used: usize,
    remaining: u64,
}

impl PseudoRandomBytes {
    /// `len` bytes of the stream for `seed`.
    pub fn new(seed: u64, len: u64) -> PseudoRandomBytes {
        let state = seed ^ 0x9E37_79B9_7F4A_7C15;
        PseudoRandomBytes {
            state: if state == 0 { 1 } else { state },
            word: [0; 8],
            used: 8,
            remaining: len,
        }
    }

    fn next_word(&mut self) -> [u8; 8] {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes()
    }
}

impl Read for PseudoRandomBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let mut filled = 0;
        while filled < want && self.used < 8 {
            buf[filled] = self.word[self.used];
            self.used += 1;
            filled += 1;
        }
        while want - filled >= 8 {
            let w = self.next_word();
            buf[filled..filled + 8].copy_from_slice(&w);
            filled += 8;
        }
        if filled < want {
            self.word = self.next_word();
            self.used = 0;
            while filled < want {
                buf[filled] = self.word[self.used];
                self.used += 1;
                filled += 1;
            }
        }
        self.remaining -= filled as u64;
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_read_sizes_give_the_same_stream() {
        let mut whole = Vec::new();
        PseudoRandomBytes::new(42, 1000)
            .read_to_end(&mut whole)
            .unwrap();
        let mut r = PseudoRandomBytes::new(42, 1000);
        let mut pieces = Vec::new();
        for step in [1usize, 3, 7, 8, 9, 13].iter().cycle() {
            let mut buf = vec![0u8; *step];
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            pieces.extend_from_slice(&buf[..n]);
        }
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 1000);
    }

    #[test]
    fn seeds_differ_and_bytes_are_not_constant() {
        let mut a = vec![0u8; 64];
        let mut b = vec![0u8; 64];
        PseudoRandomBytes::new(1, 64).read_exact(&mut a).unwrap();
        PseudoRandomBytes::new(2, 64).read_exact(&mut b).unwrap();
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != a[0]));
        let mut zero = vec![0u8; 16];
        PseudoRandomBytes::new(0x9E37_79B9_7F4A_7C15, 16)
            .read_exact(&mut zero)
            .unwrap();
        assert!(zero.iter().any(|&x| x != 0));
    }
}
