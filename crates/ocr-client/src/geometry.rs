//! Minimum-area rectangles around detection contours, as OpenCV's `minAreaRect` gives them.
//!
//! rten-imageproc 0.27 has a `min_area_rect`, but it measures each candidate rectangle on one
//! side of the hull edge only, so when its hull comes out in the other winding it returns a
//! rectangle one pixel high: a whole text line (a receipt's merchant, on one dev scan) was then
//! dropped as too thin. This version takes both sides of every edge.

use rten_imageproc::{PointF, RotatedRect, Vec2};

/// The convex hull of `points` (Andrew's monotone chain), counter-clockwise in y-down image
/// coordinates, without collinear points.
fn convex_hull(points: &[PointF]) -> Vec<PointF> {
    let mut pts: Vec<PointF> = points.to_vec();
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup_by(|a, b| a.x == b.x && a.y == b.y);
    if pts.len() < 3 {
        return pts;
    }
    let cross =
        |o: PointF, a: PointF, b: PointF| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    // The lower chain left to right, then the upper chain right to left.
    let mut hull: Vec<PointF> = Vec::with_capacity(2 * pts.len());
    for chain in [
        &mut pts.iter() as &mut dyn Iterator<Item = &PointF>,
        &mut pts.iter().rev(),
    ] {
        let start = hull.len();
        for &p in chain {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        // The last point of each chain is the first of the other.
        hull.pop();
    }
    hull
}

/// The smallest rectangle (any rotation) holding every point; `None` for no points.
pub(crate) fn min_area_rect(points: &[PointF]) -> Option<RotatedRect> {
    let hull = convex_hull(points);
    let first = *hull.first()?;
    let mut best: Option<(f32, RotatedRect)> = None;
    let edges = hull.len().max(1);
    for i in 0..edges {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let along = if a.x == b.x && a.y == b.y {
            Vec2::from_xy(1.0, 0.0)
        } else {
            let v = Vec2::from_xy(b.x - a.x, b.y - a.y);
            let len = v.length();
            Vec2::from_xy(v.x / len, v.y / len)
        };
        let across = Vec2::from_xy(-along.y, along.x);
        let (mut lo_u, mut hi_u, mut lo_v, mut hi_v) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for p in &hull {
            let d = Vec2::from_xy(p.x - first.x, p.y - first.y);
            let (u, v) = (along.dot(d), across.dot(d));
            lo_u = lo_u.min(u);
            hi_u = hi_u.max(u);
            lo_v = lo_v.min(v);
            hi_v = hi_v.max(v);
        }
        let area = (hi_u - lo_u) * (hi_v - lo_v);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let (cu, cv) = ((lo_u + hi_u) / 2.0, (lo_v + hi_v) / 2.0);
            let center = PointF::from_yx(
                first.y + along.y * cu + across.y * cv,
                first.x + along.x * cu + across.x * cv,
            );
            // `up` is the height's direction; the width lies along the edge.
            let rect = RotatedRect::new(center, across, hi_u - lo_u, hi_v - lo_v);
            best = Some((area, rect));
        }
    }
    best.map(|(_, rect)| rect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(x0: i32, y0: i32, x1: i32, y1: i32) -> Vec<PointF> {
        let mut pts = Vec::new();
        for x in x0..=x1 {
            pts.push(PointF::from_yx(y0 as f32, x as f32));
            pts.push(PointF::from_yx(y1 as f32, x as f32));
        }
        for y in y0..=y1 {
            pts.push(PointF::from_yx(y as f32, x0 as f32));
            pts.push(PointF::from_yx(y as f32, x1 as f32));
        }
        pts
    }

    #[test]
    fn an_axis_aligned_outline_gives_its_box_whatever_the_point_order() {
        let mut pts = outline(199, 360, 674, 375);
        for _ in 0..2 {
            let rect = min_area_rect(&pts).unwrap();
            let (w, h) = (
                rect.width().max(rect.height()),
                rect.width().min(rect.height()),
            );
            assert!((w - 475.0).abs() < 1e-3, "{w}");
            assert!((h - 15.0).abs() < 1e-3, "{h}");
            let c = rect.center();
            assert!(
                (c.x - 436.5).abs() < 1e-3 && (c.y - 367.5).abs() < 1e-3,
                "{c:?}"
            );
            pts.reverse();
        }
    }

    #[test]
    fn a_tilted_line_gets_a_tilted_rectangle() {
        // A 100 x 10 rectangle turned by atan(0.1).
        let (c, s) = (1.0 / 1.01f32.sqrt(), 0.1 / 1.01f32.sqrt());
        let corners = [(0.0, 0.0), (100.0, 0.0), (100.0, 10.0), (0.0, 10.0)];
        let pts: Vec<PointF> = corners
            .iter()
            .map(|&(x, y)| PointF::from_yx(s * x + c * y + 50.0, c * x - s * y + 20.0))
            .collect();
        let rect = min_area_rect(&pts).unwrap();
        let area = rect.width() * rect.height();
        assert!((area - 1000.0).abs() < 1.0, "{area}");
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert!(min_area_rect(&[]).is_none());
        let one = min_area_rect(&[PointF::from_yx(3.0, 4.0)]).unwrap();
        assert_eq!(one.width() * one.height(), 0.0);
        let line: Vec<PointF> = (0..10).map(|x| PointF::from_yx(5.0, x as f32)).collect();
        let rect = min_area_rect(&line).unwrap();
        assert!((rect.width().max(rect.height()) - 9.0).abs() < 1e-4);
    }
}
