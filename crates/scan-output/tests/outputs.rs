//! All outputs at once, as fw-scan asks for them: renames first, then the CSV and report show
//! the new names; a dry run renames nothing; a failed output does not stop the others.

mod common;

use scan_output::{Outputs, Template};

fn outputs(dir: &std::path::Path, dry_run: bool) -> Outputs {
    Outputs {
        csv: Some(dir.join("out/receipts.csv")),
        report: Some(dir.join("out/Receipts März.html")),
        rename: Some(Template::parse("{date}_{merchant}_{total}").unwrap()),
        dry_run,
    }
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn renames_then_writes_csv_and_report_with_the_new_names() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in box");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let mut scans = common::batch(&inputs);
    std::fs::write(inputs.join("2024-03-12_corner-cafe_7.75.jpg"), "older").unwrap();

    let written = outputs(dir.path(), false).write(&mut scans);
    assert!(!written.has_failures(), "{:?}", written.failed);
    let lines: Vec<String> = written.lines().map(Result::unwrap).collect();
    assert_eq!(lines.len(), 2 + 5, "two skips, five renames: {lines:#?}");
    assert!(lines[0].ends_with("no total.txt: skipped: no date found on the receipt"));
    assert!(
        lines[2].ends_with("2024-03-12_corner-cafe_7.75-2.jpg"),
        "{}",
        lines[2]
    );

    assert_eq!(
        names(&inputs),
        [
            "2023-07-04_joe-s-diner-inc_23.06.txt",
            "2024-03-12_corner-cafe_7.75-2.jpg",
            "2024-03-12_corner-cafe_7.75.jpg",
            "2024-03-12_corner-cafe_7.75.webp",
            "2024-03-14_cafe-muller_7.60.txt",
            "2024-03-15_東京ストア_5.70.txt",
            "broken photo.jpg",
            "no total.txt",
        ]
    );
    let csv = std::fs::read_to_string(dir.path().join("out/receipts.csv")).unwrap();
    assert!(
        csv.contains("2024-03-15_東京ストア_5.70.txt,東京ストア,2024-03-15,"),
        "{csv}"
    );
    assert!(!csv.contains("東京 receipt.txt"));
    let html = std::fs::read_to_string(dir.path().join("out/Receipts März.html")).unwrap();
    assert!(html.contains("<h3>2024-03-12_corner-cafe_7.75-2.jpg</h3>"));
    assert!(
        !html.contains("no preview"),
        "thumbnails read from the new names"
    );
}

#[test]
fn a_dry_run_renames_nothing_and_reports_the_old_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let mut scans = common::batch(dir.path());
    let before = names(dir.path());

    let written = outputs(dir.path(), true).write(&mut scans);
    assert!(!written.has_failures());
    assert!(written.renamed.is_empty());
    let lines: Vec<String> = written.lines().map(Result::unwrap).collect();
    assert_eq!(lines.len(), 7, "every planned step: {lines:#?}");
    assert!(lines[3].contains("東京 receipt.txt -> "), "{}", lines[3]);
    assert_eq!(names(dir.path()), before, "nothing renamed");
    let csv = std::fs::read_to_string(dir.path().join("out/receipts.csv")).unwrap();
    assert!(csv.contains("東京 receipt.txt,東京ストア,"));
}

#[test]
fn an_output_that_cannot_be_written_is_reported_and_the_rest_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut scans = common::batch(dir.path());
    // no out/ folder: neither the CSV nor the report can be written
    let written = outputs(dir.path(), false).write(&mut scans);
    assert!(written.has_failures());
    assert_eq!(written.failed.len(), 2);
    assert_eq!(written.renamed.iter().filter(|r| r.is_ok()).count(), 5);
    let errors: Vec<String> = written
        .lines()
        .filter_map(|l| l.err().map(|e| e.to_string()))
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(errors[0].contains("out/receipts.csv"), "{}", errors[0]);
    assert!(
        errors[1].contains("out/Receipts März.html"),
        "{}",
        errors[1]
    );
}
