//! Renaming real files by their fields: spaces and non-ASCII in names, existing targets, two
//! files wanting one name, a target appearing between plan and rename, and a dry run that
//! touches nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scan_output::{Action, Field, Skip, Template, apply, follow, plan};

/// Every file in `dir` with its bytes: what "nothing was touched" and "nothing was lost" compare.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

/// The planned new name of each input, or the reason it is skipped.
fn planned_names(plan: &[scan_output::Planned]) -> Vec<Result<String, Skip>> {
    plan.iter()
        .map(|p| match &p.action {
            Action::Rename { to } => {
                assert_eq!(to.parent(), p.from.parent(), "renames stay in their folder");
                Ok(name_of(to))
            }
            Action::Skip(why) => Err(why.clone()),
        })
        .collect()
}

#[test]
fn renames_a_real_batch_by_date_merchant_and_total() {
    let dir = tempfile::tempdir().unwrap();
    let mut scans = common::batch(dir.path());
    // A file from last month already stands under the name the JPEG wants.
    std::fs::write(dir.path().join("2024-03-12_corner-cafe_7.75.jpg"), "older").unwrap();
    let before = snapshot(dir.path());

    let template = Template::parse("{date}_{merchant}_{total}").unwrap();
    let plan = plan(&template, &scans);
    assert_eq!(
        planned_names(&plan),
        [
            Ok("2024-03-12_corner-cafe_7.75-2.jpg".to_string()),
            Ok("2024-03-12_corner-cafe_7.75.webp".to_string()),
            Ok("2024-03-14_cafe-muller_7.60.txt".to_string()),
            Ok("2024-03-15_東京ストア_5.70.txt".to_string()),
            Ok("2023-07-04_joe-s-diner-inc_23.06.txt".to_string()),
            Err(Skip::MissingField(Field::Date)),
            Err(Skip::ScanFailed(
                "tesseract could not read broken photo.jpg: not an image (HTML)".into()
            )),
        ]
    );
    assert_eq!(
        plan[5].to_string(),
        format!(
            "{}: skipped: no date found on the receipt",
            plan[5].from.display()
        )
    );
    // the dry run: planning touched nothing
    assert_eq!(snapshot(dir.path()), before);

    let done: Vec<_> = apply(&plan).into_iter().map(Result::unwrap).collect();
    assert_eq!(done.len(), 5);
    let after = snapshot(dir.path());
    assert_eq!(after.len(), before.len(), "no file lost, none added");
    assert_eq!(after["2024-03-12_corner-cafe_7.75.jpg"], b"older");
    for r in &done {
        assert!(!r.from.exists(), "{} is gone", r.from.display());
        let original = &before[&name_of(&r.from)];
        assert_eq!(&after[&name_of(&r.to)], original, "{r}");
    }
    // skipped files keep their names
    assert!(after.contains_key("no total.txt"));
    assert!(after.contains_key("broken photo.jpg"));

    // Following the renames, a report written afterwards shows the new names and finds the
    // pictures under them.
    follow(&mut scans, &done);
    let now: Vec<String> = scans.iter().map(|s| name_of(&s.input)).collect();
    assert_eq!(now[0], "2024-03-12_corner-cafe_7.75-2.jpg");
    assert_eq!(now[3], "2024-03-15_東京ストア_5.70.txt");
    assert_eq!(now[5], "no total.txt");
    assert!(scans.iter().all(|s| s.input.exists()));
    let mut html = Vec::new();
    scan_output::write_report(&mut html, &scans).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(!html.contains("no preview"));
    assert!(html.contains("<h3>2024-03-12_corner-cafe_7.75.webp</h3>"));
}

#[test]
fn two_files_wanting_one_name_get_numbered_suffixes() {
    let dir = tempfile::tempdir().unwrap();
    let scans: Vec<_> = ["a copy.png", "b copy.png", "c copy.png"]
        .iter()
        .map(|n| common::scan_image(&common::copy(dir.path(), "images/receipt.png", n)))
        .collect();
    let plan = plan(&Template::parse("{merchant} {total}").unwrap(), &scans);
    assert_eq!(
        planned_names(&plan),
        [
            Ok("corner-cafe 7.75.png".to_string()),
            Ok("corner-cafe 7.75-2.png".to_string()),
            Ok("corner-cafe 7.75-3.png".to_string()),
        ]
    );
    for r in apply(&plan) {
        r.unwrap();
    }
    let names: Vec<String> = snapshot(dir.path()).into_keys().collect();
    assert_eq!(
        names,
        [
            "corner-cafe 7.75-2.png",
            "corner-cafe 7.75-3.png",
            "corner-cafe 7.75.png"
        ]
    );
}

#[test]
fn a_name_taken_after_planning_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::copy(
        dir.path(),
        "scan-output/cafe-mueller.txt",
        "Café Müller.txt",
    );
    let scans = vec![common::scan_text(&input)];
    let plan = plan(&Template::parse("{merchant}-{currency}").unwrap(), &scans);
    let Action::Rename { to } = &plan[0].action else {
        panic!("{}", plan[0]);
    };
    assert_eq!(name_of(to), "cafe-muller-EUR.txt");
    // Another program writes that very name (and the -2 one) before the rename.
    std::fs::write(to, "someone else's").unwrap();
    std::fs::write(dir.path().join("cafe-muller-EUR-2.txt"), "another").unwrap();

    let done = apply(&plan).pop().unwrap().unwrap();
    assert_eq!(done.to, dir.path().join("cafe-muller-EUR-3.txt"));
    assert_eq!(std::fs::read(to).unwrap(), b"someone else's");
    assert_eq!(
        std::fs::read(dir.path().join("cafe-muller-EUR-2.txt")).unwrap(),
        b"another"
    );
    assert_eq!(
        std::fs::read_to_string(&done.to).unwrap(),
        std::fs::read_to_string(common::fixtures().join("scan-output/cafe-mueller.txt")).unwrap()
    );
    assert!(!input.exists());
}

#[test]
fn running_again_leaves_renamed_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let scans = common::batch(dir.path());
    let template = Template::parse("{date}_{merchant}_{total}").unwrap();
    for r in apply(&plan(&template, &scans)) {
        r.unwrap();
    }
    let once = snapshot(dir.path());
    // Scan the renamed files again, as a second run of fw-scan on the folder would.
    let renamed: Vec<scan_output::Scanned> = once
        .keys()
        .filter(|n| n.starts_with("20"))
        .map(|n| {
            let path: PathBuf = dir.path().join(n);
            if n.ends_with(".txt") {
                common::scan_text(&path)
            } else {
                common::scan_image(&path)
            }
        })
        .collect();
    let second = plan(&template, &renamed);
    assert_eq!(second.len(), 5);
    for p in &second {
        assert_eq!(p.action, Action::Skip(Skip::AlreadyNamed), "{p}");
    }
    assert!(apply(&second).is_empty());
    assert_eq!(snapshot(dir.path()), once);
}

#[test]
fn a_missing_source_is_an_error_naming_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::copy(dir.path(), "receipts/us.txt", "joe.txt");
    let scans = vec![common::scan_text(&input)];
    let plan = plan(&Template::parse("{stem} {total}").unwrap(), &scans);
    std::fs::remove_file(&input).unwrap();
    let err = apply(&plan).pop().unwrap().unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("cannot rename "), "{message}");
    assert!(
        message.contains("joe.txt") && message.contains("joe 23.06.txt"),
        "{message}"
    );
    assert!(snapshot(dir.path()).is_empty(), "nothing created");
}
