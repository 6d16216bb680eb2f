//! Inputs for the exhaustive tests that check a fast scanner against its plain twin: every
//! short line over a small alphabet, and a seeded pseudo-random stream for longer ones.

/// `prefix` followed by every string of up to `max` bytes from `alphabet`, shortest first
/// (the prefix alone first).
pub(crate) fn every_line(prefix: &[u8], alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut lines = vec![prefix.to_vec()];
    let mut last = lines.clone();
    for _ in 0..max {
        let mut next = Vec::with_capacity(last.len() * alphabet.len());
        for l in &last {
            for &a in alphabet {
                let mut m = l.clone();
                m.push(a);
                next.push(m);
            }
        }
        lines.extend(next.iter().cloned());
        last = next;
    }
    lines
}

/// Marsaglia's xorshift64: the same seed gives the same stream on every machine.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next value of the stream (the seed must not be 0).
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_counts_and_orders_its_lines() {
        let lines = every_line(b"x", b"ab", 2);
        let want: [&[u8]; 7] = [b"x", b"xa", b"xb", b"xaa", b"xab", b"xba", b"xbb"];
        assert_eq!(lines, want.map(<[u8]>::to_vec));
    }
}
