//! Charts as inline SVG, drawn on the server: bars for a series, and a
//! sparkline. Colours come from the stylesheet (classes), not from style
//! attributes, which the Content-Security-Policy refuses.

use maud::{Markup, html};

/// A bar chart of `values` (oldest first), `labels[i]` the hover title of
/// bar `i`, with the maximum written at the top left.
pub(super) fn bars(values: &[u64], labels: &[String], caption: &str) -> Markup {
    let (width, height) = (720.0_f64, 160.0_f64);
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let step = width / values.len().max(1) as f64;
    let bar = (step - 1.0).max(1.0);
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {width} {}", height + 16.0)) role="img" aria-label=(caption) preserveAspectRatio="none" {
                line.axis x1="0" y1=(height) x2=(width) y2=(height) {}
                @for (i, v) in values.iter().enumerate() {
                    @let h = height * (*v as f64) / (max as f64);
                    rect.bar x=(format!("{:.1}", i as f64 * step)) y=(format!("{:.1}", height - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                        title { (labels.get(i).map_or("", String::as_str)) ": " (v) }
                    }
                }
                text.max x="2" y="12" { "max " (max) }
            }
            figcaption { (caption) }
        }
    }
}

/// A sparkline of `values` (oldest first), `width` by 24 pixels.
pub(super) fn sparkline(values: &[u64], width: u32, label: &str) -> Markup {
    let height = 24.0_f64;
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = f64::from(width) / (values.len().max(2) - 1) as f64;
    let mut points = String::new();
    for (i, v) in values.iter().enumerate() {
        let y = height - 1.0 - (height - 2.0) * (*v as f64) / max;
        points.push_str(&format!("{:.1},{y:.1} ", i as f64 * step));
    }
    html! {
        svg.spark width=(width) height=(height) viewBox=(format!("0 0 {width} {height}")) role="img" aria-label=(label) {
            polyline points=(points.trim_end()) {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_value_and_titled() {
        let svg = bars(&[0, 5, 10], &["a".into(), "b".into(), "<c>".into()], "records per hour").into_string();
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("height=\"160.0\""), "{svg}");
        assert!(svg.contains("height=\"80.0\""), "{svg}");
        assert!(svg.contains("&lt;c&gt;: 10"), "labels are escaped: {svg}");
        assert!(!svg.contains("style="));
    }

    #[test]
    fn a_sparkline_has_a_point_per_value() {
        let svg = sparkline(&[0, 1, 2, 1], 90, "items").into_string();
        assert!(svg.contains("points=\"0.0,23.0 30.0,12.0 60.0,1.0 90.0,12.0\""), "{svg}");
    }
}
