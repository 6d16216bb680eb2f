//! A stable, hash-based share of a batch, so one batch can be spread over many machines.

use crate::Error;
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`: the items whose key hashes to `index` modulo `count`.
///
/// The hash is 64-bit FNV-1a of the key's bytes (UTF-8, or a file name's raw bytes when they are
/// not UTF-8, see [`Item::key_bytes`](crate::Item::key_bytes)): fixed by this crate, the same on every
/// platform and version, so a rerun of a shard (or another machine's shard) sees the same share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// The whole batch (shard 0 of 1).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; fails unless `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, Error> {
        if count == 0 || index >= count {
            return Err(Error::InvalidShard {
                input: format!("{index}/{count}"),
            });
        }
        Ok(Shard { index, count })
    }

    /// This shard's index (0-based).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many shards there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether this shard is the whole batch.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// Whether the item with this key (text or raw bytes) belongs to this shard.
    pub fn contains(&self, key: impl AsRef<[u8]>) -> bool {
        shard_of(key, self.count) == self.index
    }

    /// A file-name-safe label such as `shard-2-of-8`.
    pub fn label(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

/// Which of `count` shards the key belongs to (`count` 0 is treated as 1).
pub fn shard_of(key: impl AsRef<[u8]>, count: u32) -> u32 {
    (fnv1a64(key.as_ref()) % u64::from(count.max(1))) as u32
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl FromStr for Shard {
    type Err = Error;

    /// Parses `INDEX/COUNT`, e.g. `3/8`.
    fn from_str(s: &str) -> Result<Shard, Error> {
        let bad = || Error::InvalidShard {
            input: s.to_string(),
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i: u32 = i.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n).map_err(|_| bad())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn parses_index_over_count() {
        let s: Shard = "2/8".parse().unwrap();
        assert_eq!((s.index(), s.count()), (2, 8));
        assert_eq!(s.to_string(), "2/8");
        assert_eq!(s.label(), "shard-2-of-8");
    }

    #[test]
    fn refuses_index_out_of_range_zero_count_and_garbage() {
        for bad in ["8/8", "0/0", "1", "a/b", "-1/4", "1/4/5", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn whole_contains_everything() {
        assert!(Shard::WHOLE.contains("anything"));
        assert!(Shard::WHOLE.is_whole());
    }
}
