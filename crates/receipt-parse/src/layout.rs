//! Merging word or phrase boxes into visual rows.

use crate::Line;

/// The text rows of the lines: boxes on the same visual row joined left to right, or the lines
/// as given when any box is missing.
///
/// Lines are expected roughly in reading order (what OCR engines print); a box joins the latest
/// of the last few rows whose last box overlaps it vertically by at least half the smaller
/// height, which follows a skewed scan better than comparing with the row's first box.
pub(crate) fn rows(lines: &[Line]) -> Vec<String> {
    let boxes: Option<Vec<[i32; 4]>> = lines.iter().map(|l| l.bbox).collect();
    let Some(boxes) = boxes else {
        return lines.iter().map(|l| l.text.clone()).collect();
    };
    let span = |b: &[i32; 4]| {
        let (top, bottom) = (i64::from(b[1].min(b[3])), i64::from(b[1].max(b[3])));
        (top, bottom)
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let overlaps = |a: usize, b: usize| {
        let ((at, ab), (bt, bb)) = (span(&boxes[a]), span(&boxes[b]));
        let overlap = ab.min(bb) - at.max(bt);
        let smaller = (ab - at).min(bb - bt).max(1);
        2 * overlap >= smaller
    };
    for i in 0..lines.len() {
        // the row of the box before, or one of the few rows above it (an amount listed after
        // the labels of the next rows still finds its label)
        let home = groups
            .iter()
            .enumerate()
            .rev()
            .take(4)
            .find(|(_, g)| g.last().is_some_and(|&prev| overlaps(prev, i)))
            .map(|(k, _)| k);
        match home {
            Some(k) => groups[k].push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
        .into_iter()
        .map(|mut g| {
            g.sort_by_key(|&i| boxes[i][0].min(boxes[i][2]));
            let parts: Vec<&str> = g.iter().map(|&i| lines[i].text.trim()).collect();
            parts.join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_a_label_and_its_amount_on_one_row() {
        let lines = [
            Line::with_box("TOTAL:", [245, 639, 293, 658]),
            Line::with_box("9.00", [412, 639, 442, 654]),
            Line::with_box("CASH", [205, 744, 243, 765]),
            Line::with_box("10.00", [402, 748, 441, 763]),
        ];
        assert_eq!(rows(&lines), ["TOTAL: 9.00", "CASH 10.00"]);
    }

    #[test]
    fn orders_boxes_left_to_right_within_a_row() {
        let lines = [
            Line::with_box("9.00", [412, 100, 442, 115]),
            Line::with_box("TOTAL", [20, 101, 80, 116]),
        ];
        assert_eq!(rows(&lines), ["TOTAL 9.00"]);
    }

    #[test]
    fn follows_a_skewed_row() {
        let lines = [
            Line::with_box("TOTAL", [20, 100, 80, 116]),
            Line::with_box(":", [200, 106, 204, 122]),
            Line::with_box("9.00", [400, 112, 440, 128]),
            Line::with_box("CASH", [20, 130, 80, 146]),
        ];
        assert_eq!(rows(&lines), ["TOTAL : 9.00", "CASH"]);
    }

    #[test]
    fn an_amount_listed_after_the_next_label_finds_its_row() {
        let lines = [
            Line::with_box("TOTAL:", [20, 100, 80, 116]),
            Line::with_box("CASH", [20, 130, 70, 146]),
            Line::with_box("31.00", [400, 103, 440, 119]),
            Line::with_box("50.00", [400, 131, 440, 147]),
        ];
        assert_eq!(rows(&lines), ["TOTAL: 31.00", "CASH 50.00"]);
    }

    #[test]
    fn keeps_lines_as_given_when_a_box_is_missing() {
        let lines = [Line::new("B"), Line::with_box("A", [0, 0, 1, 1])];
        assert_eq!(rows(&lines), ["B", "A"]);
    }
}
