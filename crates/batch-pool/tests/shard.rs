//! Sharding: stable assignment, and the shards of a batch partition it.

use batch_pool::{Shard, shard_of};

#[test]
fn shards_partition_the_batch() {
    let keys: Vec<String> = (0..5000).map(|i| format!("photos/{i:05}.jpg")).collect();
    for count in [1u32, 2, 3, 7, 16] {
        let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
        let mut sizes = vec![0usize; count as usize];
        for k in &keys {
            let owners: Vec<_> = shards.iter().filter(|s| s.contains(k)).collect();
            assert_eq!(owners.len(), 1, "{k} in {} shards of {count}", owners.len());
            sizes[owners[0].index() as usize] += 1;
        }
        let mean = keys.len() as f64 / count as f64;
        for s in sizes {
            assert!(
                (s as f64 - mean).abs() < 0.15 * mean + 5.0,
                "{s} vs mean {mean}"
            );
        }
    }
}

#[test]
fn assignment_is_stable_across_versions() {
    // Known answers: changing the hash would move items between shards of a running batch.
    assert_eq!(shard_of("a", 1 << 16), 0xec8c);
    assert_eq!(shard_of("foobar", 1 << 16), 0x67e8);
    assert_eq!(shard_of("anything", 1), 0);
}
