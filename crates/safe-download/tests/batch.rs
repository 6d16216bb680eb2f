//! Batch downloads against the testbed: duplicate names, a rate-limited server, a storm of
//! 503s with Retry-After, shards, and a rerun that skips what is complete, continues what was
//! cut and retries what failed.

use batch_pool::{Concurrency, RetryPolicy, Shard};
use safe_download::Downloader;
use safe_download::batch::{Batch, ItemOutcome, ItemStatus, Planned, parse_list, plan};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use testbed::{PseudoRandomBytes, Testbed};

fn pseudo(seed: u64, len: u64) -> Vec<u8> {
    let mut v = Vec::new();
    PseudoRandomBytes::new(seed, len)
        .read_to_end(&mut v)
        .unwrap();
    v
}

/// Runs a batch and returns every outcome.
fn run(batch: &Batch, items: Vec<Planned>) -> Vec<ItemOutcome> {
    let mut seen = Vec::new();
    batch
        .run(items, |o| {
            seen.push(ItemOutcome {
                planned: o.planned.clone(),
                tries: o.tries,
                status: match &o.status {
                    ItemStatus::Downloaded(d) => ItemStatus::Downloaded(d.clone()),
                    ItemStatus::Skipped { bytes } => ItemStatus::Skipped { bytes: *bytes },
                    ItemStatus::Failed(e) => ItemStatus::Skipped {
                        bytes: u64::MAX - e.kind() as u64,
                    },
                },
            })
        })
        .unwrap();
    seen
}

fn fast_retries(tries: u32) -> RetryPolicy {
    RetryPolicy::new()
        .max_tries(tries)
        .base_delay(std::time::Duration::from_millis(1))
}

#[test]
fn duplicate_names_become_unique_and_hold_the_right_bytes() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list: String = (1..=3)
        .map(|seed| format!("{}\n", tb.url(&format!("/bytes/500?seed={seed}"))))
        .collect();
    let items = plan(parse_list(&list).unwrap(), dir.path()).unwrap();
    let batch = Batch::new(Downloader::new(), dir.path().join("j.jsonl"));
    let outcomes = run(&batch, items);
    assert_eq!(outcomes.len(), 3);
    for (seed, name) in [(1, "500"), (2, "500-2"), (3, "500-3")] {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            pseudo(seed, 500),
            "{name}"
        );
    }
}

#[test]
fn a_rate_limited_server_is_retried_until_every_file_is_there() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = format!("batch-{}", std::process::id());
    let list: String = (0..16)
        .map(|i| {
            let url = tb.url(&format!(
                "/hostile/limited?key={key}&max=2&size=2000&seed={i}"
            ));
            format!("{{\"url\": \"{url}\", \"path\": \"f{i}.bin\"}}\n")
        })
        .collect();
    let items = plan(parse_list(&list).unwrap(), dir.path()).unwrap();
    let batch = Batch::new(Downloader::new(), dir.path().join("j.jsonl"))
        .concurrency(Concurrency::Fixed(8))
        .retry(fast_retries(500));
    let outcomes = run(&batch, items);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.status, ItemStatus::Downloaded(_)))
    );
    for i in 0..16 {
        assert_eq!(
            std::fs::read(dir.path().join(format!("f{i}.bin"))).unwrap(),
            pseudo(i, 2000)
        );
    }

    // 503 with Retry-After: every key fails twice first, deterministically.
    let dir = tempfile::tempdir().unwrap();
    let list: String = (0..6)
        .map(|i| {
            let url = tb.url(&format!("/fault/storm?fail=2&key={key}-{i}"));
            format!("{{\"url\": \"{url}\", \"path\": \"s{i}.txt\"}}\n")
        })
        .collect();
    let items = plan(parse_list(&list).unwrap(), dir.path()).unwrap();
    let batch = Batch::new(Downloader::new(), dir.path().join("j.jsonl")).retry(fast_retries(3));
    let outcomes = run(&batch, items);
    assert!(outcomes.iter().all(|o| o.tries == 3), "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.status, ItemStatus::Downloaded(_)))
    );
}

#[test]
fn shards_split_the_list_without_overlap() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list: String = (0..12)
        .map(|i| format!("{}\n", tb.url(&format!("/bytes/{}?seed={i}", 100 + i))))
        .collect();
    let mut seen = Vec::new();
    for index in 0..2 {
        let items = plan(parse_list(&list).unwrap(), dir.path()).unwrap();
        let shard = Shard::new(index, 2).unwrap();
        let expected = items.iter().filter(|p| shard.contains(&p.key)).count();
        let batch = Batch::new(
            Downloader::new(),
            dir.path().join(format!("j{index}.jsonl")),
        )
        .shard(shard);
        let outcomes = run(&batch, items);
        assert_eq!(outcomes.len(), expected);
        seen.extend(outcomes.into_iter().map(|o| o.planned.path));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12);
    for i in 0..12u64 {
        assert_eq!(
            std::fs::read(dir.path().join(format!("{}", 100 + i))).unwrap(),
            pseudo(i, 100 + i)
        );
    }
}

fn inode(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().ino()
}

#[test]
fn a_rerun_skips_the_complete_continues_the_cut_and_follows_a_changed_list() {
    let files = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(files.path().join("big.bin"), &big).unwrap();
    let tb = Testbed::builder().files_dir(files.path()).start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let list = format!(
        "{}\n{}\n",
        tb.url("/bytes/1000?seed=9"),
        tb.url("/flaky/big.bin?cut_after=500000")
    );
    let batch = Batch::new(Downloader::new(), journal.clone()).retry(fast_retries(1));
    let first = run(
        &batch,
        plan(parse_list(&list).unwrap(), dir.path()).unwrap(),
    );
    assert_eq!(first.len(), 2);
    assert!(
        dir.path().join("big.bin.part").exists(),
        "the cut leaves a part"
    );
    assert!(!dir.path().join("big.bin").exists());
    let small = inode(&dir.path().join("1000"));

    let second = run(
        &batch,
        plan(parse_list(&list).unwrap(), dir.path()).unwrap(),
    );
    for o in &second {
        match (
            &o.status,
            o.planned.path.file_name().unwrap().to_str().unwrap(),
        ) {
            (ItemStatus::Skipped { bytes: 1000 }, "1000") => {}
            (ItemStatus::Downloaded(d), "big.bin") => assert!(d.resumed, "continued"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(inode(&dir.path().join("1000")), small);
    assert_eq!(std::fs::read(dir.path().join("big.bin")).unwrap(), big);

    // A changed list: the same URL now wants another path; a new URL joins.
    let changed = format!(
        "{{\"url\": \"{}\", \"path\": \"moved.bin\"}}\n{}\n",
        tb.url("/bytes/1000?seed=9"),
        tb.url("/bytes/10?seed=1")
    );
    let third = run(
        &batch,
        plan(parse_list(&changed).unwrap(), dir.path()).unwrap(),
    );
    assert!(
        third
            .iter()
            .all(|o| matches!(o.status, ItemStatus::Downloaded(_))),
        "{third:?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("moved.bin")).unwrap(),
        pseudo(9, 1000)
    );
    assert_eq!(std::fs::read(dir.path().join("10")).unwrap(), pseudo(1, 10));
    // A file deleted after a run is fetched again.
    std::fs::remove_file(dir.path().join("10")).unwrap();
    let fourth = run(
        &batch,
        plan(parse_list(&changed).unwrap(), dir.path()).unwrap(),
    );
    let fetched = fourth
        .iter()
        .filter(|o| matches!(o.status, ItemStatus::Downloaded(_)))
        .count();
    assert_eq!(fetched, 1);
    assert!(dir.path().join("10").exists());
}

/// The journal without its `done` lines: what a run killed after its renames, before the
/// lines that record them, leaves behind.
fn forget_done(journal: &Path) {
    let text = std::fs::read_to_string(journal).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.contains("\"event\":\"done\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(kept.len() < text.len(), "{text}");
    std::fs::write(journal, kept).unwrap();
}

#[test]
fn a_run_killed_between_rename_and_journal_line_knows_its_files_next_time() {
    let files = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..1_200_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(files.path().join("big.bin"), &big).unwrap();
    let tb = Testbed::builder().files_dir(files.path()).start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let journal = state.path().join("j.jsonl");
    // A temp-file download (small) and a part-file one (1 MiB and more).
    let list = format!(
        "{}\n{}\n",
        tb.url("/bytes/700?seed=3"),
        tb.url("/files/big.bin")
    );
    let batch = Batch::new(Downloader::new(), journal.clone());
    let items = || plan(parse_list(&list).unwrap(), dir.path()).unwrap();
    let first = run(&batch, items());
    assert!(
        first
            .iter()
            .all(|o| matches!(o.status, ItemStatus::Downloaded(_)))
    );
    let (small, large) = (dir.path().join("700"), dir.path().join("big.bin"));
    let inodes = (inode(&small), inode(&large));

    // Killed after both renames, and the big one between its link and the part's unlink.
    forget_done(&journal);
    std::fs::hard_link(&large, dir.path().join("big.bin.part")).unwrap();
    let second = run(&batch, items());
    for o in &second {
        assert!(
            !failed(&o.status) && matches!(o.status, ItemStatus::Skipped { .. }),
            "{:?}: {:?}",
            o.planned.path,
            o.status
        );
    }
    assert_eq!((inode(&small), inode(&large)), inodes, "not fetched again");
    assert!(
        !dir.path().join("big.bin.part").exists(),
        "the stale link is gone"
    );
    assert_eq!(std::fs::read(&large).unwrap(), big);
    assert_eq!(std::fs::read(&small).unwrap(), pseudo(3, 700));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    // They are recorded as done now: a third run skips them on the journal alone.
    let done = std::fs::read_to_string(&journal)
        .unwrap()
        .matches("\"event\":\"done\"")
        .count();
    assert_eq!(done, 2);

    // Someone else's file at a final name is not taken for the batch's, even with the batch's
    // intent as the last line: the run refuses to replace it.
    forget_done(&journal);
    std::fs::remove_file(&small).unwrap();
    std::fs::write(&small, b"the user's own file").unwrap();
    let third = run(&batch, items());
    let refused = third
        .iter()
        .find(|o| o.planned.path == small)
        .expect("small item");
    assert!(failed(&refused.status), "{:?}", refused.status);
    assert_eq!(std::fs::read(&small).unwrap(), b"the user's own file");
}

/// Whether a status from [`run`] is a failure (it maps failures to huge skipped sizes).
fn failed(status: &ItemStatus) -> bool {
    matches!(status, ItemStatus::Skipped { bytes } if *bytes > u64::MAX - 1000)
}
