//! The CSV of a real batch, written to a file and read back as a spreadsheet would.

mod common;

use scan_output::{CsvWriter, csv::HEADER, save_csv, write_csv};

/// Writes the batch's CSV to a file and reads it back as records (with the batch).
fn written(dir: &std::path::Path) -> (Vec<scan_output::Scanned>, Vec<Vec<String>>) {
    let scans = common::batch(dir);
    let path = dir.join("receipts März.csv");
    save_csv(&path, &scans).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "no byte-order mark");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&path)
        .unwrap();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (scans, rows)
}

#[test]
fn one_row_per_input_under_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rows) = written(dir.path());
    assert_eq!(rows[0], HEADER);
    assert_eq!(rows.len(), 1 + 7);
    assert!(rows.iter().all(|r| r.len() == HEADER.len()));
    let file = |row: &Vec<String>| {
        std::path::Path::new(&row[0])
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string()
    };
    let names: Vec<String> = rows[1..].iter().map(file).collect();
    assert_eq!(
        names,
        [
            "IMG 0042 copy.jpg",
            "scan from phone.webp",
            "Café Müller März.txt",
            "東京 receipt.txt",
            "diner, \"Joe's\".txt",
            "no total.txt",
            "broken photo.jpg"
        ]
    );
}

#[test]
fn fields_are_plain_values_ready_for_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let (scans, rows) = written(dir.path());
    // the parser's confidence in the total, as it gave it
    let conf = |i: usize| scans[i - 1].receipt().unwrap().confidence.total.to_string();
    let conf: Vec<String> = (1..=5).map(conf).collect();
    let tail = |i: usize| rows[i][1..].to_vec();
    assert_eq!(
        tail(1),
        [
            "CORNER CAFE",
            "2024-03-12",
            "",
            "",
            "",
            "",
            "",
            "7.75",
            "",
            "tesseract",
            &conf[0],
            ""
        ]
    );
    assert_eq!(
        tail(3),
        [
            "Café Müller",
            "2024-03-14",
            "10:15",
            "EUR",
            "",
            "0.50",
            "",
            "7.60",
            "card",
            "text",
            &conf[2],
            ""
        ]
    );
    assert_eq!(
        tail(4),
        [
            "東京ストア",
            "2024-03-15",
            "18:30",
            "SGD",
            "",
            "",
            "",
            "5.70",
            "cash",
            "text",
            &conf[3],
            ""
        ]
    );
    assert_eq!(
        tail(5),
        [
            "JOE'S DINER INC",
            "2023-07-04",
            "18:45",
            "USD",
            "17.98",
            "1.48",
            "3.60",
            "23.06",
            "card",
            "text",
            &conf[4],
            ""
        ]
    );
    // no total: the total and its confidence are empty, not 0
    assert_eq!(rows[6][8], "");
    assert_eq!(rows[6][11], "");
    // a failure: file, engine and error; nothing else
    assert_eq!(
        tail(7),
        [
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "tesseract",
            "",
            "tesseract could not read broken photo.jpg: not an image (HTML)"
        ]
    );
}

#[test]
fn streaming_rows_match_the_batch_writer() {
    let dir = tempfile::tempdir().unwrap();
    let scans = common::batch(dir.path());
    let mut streamed = CsvWriter::new(Vec::new()).unwrap();
    for scan in scans.iter().rev() {
        streamed.write(scan).unwrap();
    }
    let streamed = String::from_utf8(streamed.finish().unwrap()).unwrap();
    let whole = String::from_utf8(write_csv(Vec::new(), &scans).unwrap()).unwrap();
    let mut a: Vec<&str> = streamed.split("\r\n").collect();
    let mut b: Vec<&str> = whole.split("\r\n").collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
    // the quoted file name keeps its comma and quotes intact
    assert!(whole.contains("diner, \"\"Joe's\"\".txt\","));
}

#[test]
fn a_csv_that_cannot_be_written_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scans = common::batch(dir.path());
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    // a folder stands under the name: the rename over it fails after the rows were written
    let path = dir.path().join("taken.csv");
    std::fs::create_dir(&path).unwrap();
    let err = save_csv(&path, &scans).unwrap_err();
    assert!(err.to_string().starts_with("cannot write "), "{err}");
    assert!(err.to_string().contains("taken.csv"), "{err}");
    let after: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        after.len(),
        before.len() + 1,
        "only the folder; no temporary file left"
    );
}

#[test]
fn a_missing_folder_is_named_without_temporary_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no such folder/receipts.csv");
    let err = save_csv(&path, &[]).unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert_eq!(
        chain,
        format!(
            "cannot write {}: No such file or directory (os error 2)",
            path.display()
        )
    );
}
