//! Accuracy on the SROIE development set (../shared/data/sroie/dev.jsonl), so that a regression
//! fails CI: total ≥ 98 %, date ≥ 97 %, merchant ≥ 90 % from the dataset's OCR lines as plain text.
//! Skips (or fails under FILEWIRE_REQUIRE_PEERS=1) when the data is absent.
//! The comparison rules are the ones `cargo xtask eval` prints.

use receipt_parse::{Amount, parse};
use serde_json::Value;

fn truth_total(text: &str) -> Option<Amount> {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    kept.trim_matches('.').parse().ok()
}

/// The annotation's date (dd/mm/yyyy, dd-mm-yy, dd.mm.yyyy, yyyymmdd, "12 MAR 2018",
/// mm/dd/yyyy when the first number cannot be a month) as ISO 8601.
fn truth_date(text: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let up = text.trim().to_uppercase();
    let parts: Vec<&str> = up
        .split(['/', '-', '.', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let year = |y: &str| -> Option<u32> {
        let v: u32 = y.parse().ok()?;
        match y.len() {
            2 => Some(2000 + v),
            4 => Some(v),
            _ => None,
        }
    };
    let (y, m, d) = match parts.as_slice() {
        [one] if one.len() == 8 && one.starts_with("20") => (
            one[..4].parse().ok()?,
            one[4..6].parse().ok()?,
            one[6..].parse().ok()?,
        ),
        [one] if one.len() == 8 => (
            one[4..].parse().ok()?,
            one[2..4].parse().ok()?,
            one[..2].parse().ok()?,
        ),
        [m, d, y] if MONTHS.iter().any(|name| m.starts_with(name)) => {
            let m = MONTHS.iter().position(|name| m.starts_with(name))? as u32 + 1;
            (year(y)?, m, d.trim_end_matches(',').parse().ok()?)
        }
        [a, b, c] => {
            if let Some(m) = MONTHS.iter().position(|m| b.starts_with(m)) {
                (year(c)?, m as u32 + 1, a.parse().ok()?)
            } else if a.len() == 4 {
                (a.parse().ok()?, b.parse().ok()?, c.parse().ok()?)
            } else {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > 12 || b <= 12 {
                    (year(c)?, b, a)
                } else {
                    (year(c)?, a, b)
                }
            }
        }
        _ => return None,
    };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

fn norm(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

fn similarity(a: &[char], b: &[char]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    1.0 - prev[b.len()] as f64 / longest as f64
}

#[test]
fn sroie_dev_accuracy_stays_above_the_targets() {
    let Some(data) = testbed::peers::shared_data() else {
        return;
    };
    let path = data.join("sroie").join("dev.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        testbed::peers::missing::<()>(&format!("{}", path.display()), "the SROIE dev set");
        return;
    };
    let (mut n, mut total, mut date, mut merchant) = (0usize, 0usize, 0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let sample: Value = serde_json::from_str(line).expect("dev.jsonl holds JSON lines");
        let Some(lines) = sample["ocr_lines"].as_array() else {
            continue;
        };
        let joined: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
        let r = parse(&joined.join("\n"));
        let truth = &sample["truth"];
        n += 1;
        let want_total = truth["total"].as_str().and_then(truth_total);
        total +=
            usize::from(matches!((want_total, r.total), (Some(w), Some(g)) if w.same_value(g)));
        let want_date = truth["date"].as_str().and_then(truth_date);
        date += usize::from(want_date.is_some() && want_date == r.date);
        if let (Some(w), Some(g)) = (truth["company"].as_str(), r.merchant.as_deref()) {
            merchant += usize::from(similarity(&norm(w), &norm(g)) >= 0.9);
        }
    }
    assert!(n > 0, "{} holds no receipts", path.display());
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    eprintln!(
        "sroie dev ({n} receipts): total {:.1} %, date {:.1} %, merchant {:.1} %",
        pct(total),
        pct(date),
        pct(merchant)
    );
    assert!(pct(total) >= 98.0, "total {:.1} % < 98 %", pct(total));
    assert!(pct(date) >= 97.0, "date {:.1} % < 97 %", pct(date));
    assert!(
        pct(merchant) >= 90.0,
        "merchant {:.1} % < 90 %",
        pct(merchant)
    );
}
