//! Merging word or phrase boxes into visual rows.

use crate::Line;

/// The text rows of the lines: boxes on the same visual row joined left to right, or the lines
/// as given when any box is missing.
pub(crate) fn rows(lines: &[Line]) -> Vec<String> {
    let boxes: Option<Vec<[i32; 4]>> = lines.iter().map(|l| l.bbox).collect();
    let Some(boxes) = boxes else {
        return lines.iter().map(|l| l.text.clone()).collect();
    };
    // sort by vertical centre, then group boxes whose vertical spans overlap mostly
    let mut order: Vec<usize> = (0..lines.len()).collect();
    let centre = |b: &[i32; 4]| (i64::from(b[1]) + i64::from(b[3])) / 2;
    order.sort_by_key(|&i| (centre(&boxes[i]), i64::from(boxes[i][0])));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut span: (i64, i64) = (0, 0);
    for i in order {
        let b = boxes[i];
        let (top, bottom) = (i64::from(b[1].min(b[3])), i64::from(b[1].max(b[3])));
        let height = (bottom - top).max(1);
        let c = (top + bottom) / 2;
        let joins = match groups.last() {
            Some(_) => {
                let row_height = (span.1 - span.0).max(1);
                // the centre of the new box lies inside the row's span, shrunk by a quarter
                let margin = row_height.min(height) / 4;
                c > span.0 + margin && c < span.1 - margin
            }
            None => false,
        };
        if joins {
            if let Some(g) = groups.last_mut() {
                g.push(i);
            }
        } else {
            groups.push(vec![i]);
            span = (top, bottom);
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
    fn keeps_lines_as_given_when_a_box_is_missing() {
        let lines = [Line::new("B"), Line::with_box("A", [0, 0, 1, 1])];
        assert_eq!(rows(&lines), ["B", "A"]);
    }
}
