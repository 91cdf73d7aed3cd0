//! Line charts drawn as SVG on the server (no chart library): one or more series over a row
//! of labelled periods, a gap where a period has no value (a day with no answered case has no
//! median), and the same numbers in a table for screen readers.

use maud::{Markup, html};

/// How a chart's values read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Whole numbers from 0.
    Count,
    /// Seconds from 0, shown as s / min / h / d.
    Duration,
    /// A share from 0 to 1, shown as a percentage; the axis is always 0–100%.
    Share,
    /// From −1 to 1 (net sentiment); the axis is always −1 to +1.
    Signed,
}

impl Scale {
    pub fn show(self, v: f64) -> String {
        match self {
            Scale::Count => format!("{v:.0}"),
            Scale::Duration => duration(v),
            Scale::Share => format!("{:.0}%", v * 100.0),
            Scale::Signed => format!("{v:+.2}"),
        }
    }

    fn range(self, values: impl Iterator<Item = f64>) -> (f64, f64) {
        match self {
            Scale::Share => (0.0, 1.0),
            Scale::Signed => (-1.0, 1.0),
            Scale::Count | Scale::Duration => {
                let max = values.fold(0.0_f64, f64::max);
                (0.0, if max > 0.0 { max } else { 1.0 })
            }
        }
    }
}

/// A duration in seconds as people read it.
pub fn duration(v: f64) -> String {
    match v {
        v if v < 90.0 => format!("{v:.0} s"),
        v if v < 5400.0 => format!("{:.0} min", v / 60.0),
        v if v < 172_800.0 => format!("{:.1} h", v / 3600.0),
        v => format!("{:.1} d", v / 86_400.0),
    }
}

/// One line: a CSS class for its colour, its name, and a value per period.
pub struct Series {
    pub class: String,
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// A line chart of `series` over `periods` (their labels, in order).
pub fn line(title: &str, scale: Scale, periods: &[String], series: &[Series]) -> Markup {
    let (w, h, pad, left) = (720.0_f64, 180.0_f64, 22.0_f64, 56.0_f64);
    let (lo, hi) = scale.range(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
    );
    let step = (w - left - pad) / (periods.len().max(2) - 1) as f64;
    let x = |i: usize| left + i as f64 * step;
    let y = |v: f64| h - pad - ((v.clamp(lo, hi) - lo) / (hi - lo)) * (h - 2.0 * pad);
    // Runs of consecutive values: a line each; a lone value is a dot.
    let runs = |values: &[Option<f64>]| -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) if v.is_finite() => runs.last_mut().map_or((), |r| r.push((x(i), y(*v)))),
                _ => runs.push(Vec::new()),
            }
        }
        runs.retain(|r| !r.is_empty());
        runs
    };
    let (first, last) = (
        periods.first().cloned().unwrap_or_default(),
        periods.last().cloned().unwrap_or_default(),
    );
    // Labels between the ends, about six, none crowding the last one (24 hours: every 4th).
    let every = (periods.len().saturating_sub(1)).div_ceil(6).max(1);
    let between: Vec<usize> = (every..periods.len().saturating_sub(1))
        .step_by(every)
        .filter(|i| i + every / 2 < periods.len() - 1)
        .collect();
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox={"0 0 " (w) " " (h)} role="img" aria-label=(title) {
                line x1=(left) y1=(y(lo.max(0.0).min(hi))) x2=(w - pad) y2=(y(lo.max(0.0).min(hi))) class="axis" {}
                text x=(2) y=(pad) class="tick" { (scale.show(hi)) }
                text x=(2) y=(h - pad) class="tick" { (scale.show(lo)) }
                // Where the axis crosses zero between the ends (net sentiment): labelled too.
                @if lo < 0.0 && hi > 0.0 {
                    text x=(2) y=(format!("{:.1}", y(0.0) + 4.0)) class="tick" { "0" }
                }
                text x=(left) y=(h - 4.0) class="tick" { (first) }
                text x=(w - pad) y=(h - 4.0) class="tick end" { (last) }
                @for i in &between {
                    text x=(format!("{:.1}", x(*i))) y=(h - 4.0) class="tick mid" { (periods[*i]) }
                }
                @for s in series {
                    @for run in runs(&s.values) {
                        @if run.len() == 1 {
                            circle class={"dot " (s.class)} cx=(format!("{:.1}", run[0].0)) cy=(format!("{:.1}", run[0].1)) r="3" {}
                        } @else {
                            @let pts: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                            polyline class={"series " (s.class)} points=(pts.join(" ")) {}
                        }
                    }
                }
            }
            p.legend { @for s in series { span class={"key " (s.class)} { (s.label) } " " } }
            // The table sits in a hidden box: a table grows to its content whatever its own
            // width says, and would widen the page.
            div.visually-hidden { table {
                caption { (title) }
                thead { tr { th scope="col" { "Period" } @for s in series { th scope="col" { (s.label) } } } }
                tbody { @for (i, p) in periods.iter().enumerate() { tr {
                    th scope="row" { (p) }
                    @for s in series { td { (s.values.get(i).copied().flatten().map_or("—".to_owned(), |v| scale.show(v))) } }
                } } }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (1..=n).map(|d| format!("2026-12-{d:02}")).collect()
    }

    #[test]
    fn a_gap_splits_the_line_and_a_lone_value_is_a_dot() {
        let s = Series {
            class: "s0".into(),
            label: "Median".into(),
            values: vec![Some(60.0), Some(120.0), None, Some(30.0), None],
        };
        let svg = line("First response", Scale::Duration, &labels(5), &[s]).into_string();
        // The ends are labelled, and periods between them.
        assert!(svg.contains(r#"class="tick mid">2026-12-02<"#), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        // The table says the same numbers, and "—" for the gaps.
        assert!(svg.contains("<td>2 min</td>"), "{svg}");
        assert_eq!(svg.matches("<td>—</td>").count(), 2, "{svg}");
        assert!(
            svg.contains("2026-12-01") && svg.contains("2026-12-05"),
            "{svg}"
        );
    }

    #[test]
    fn shares_and_signed_values_keep_their_fixed_axis() {
        let s = |v: f64| Series {
            class: "s0".into(),
            label: "x".into(),
            values: vec![Some(v), Some(v)],
        };
        let share = line("SLA", Scale::Share, &labels(2), &[s(0.5)]).into_string();
        assert!(
            share.contains(">100%<") && share.contains(">0%<"),
            "{share}"
        );
        let net = line("Net", Scale::Signed, &labels(2), &[s(-0.25)]).into_string();
        assert!(net.contains(">+1.00<") && net.contains(">-1.00<"), "{net}");
        // An empty chart still draws (an axis from 0 to 1), with no line and no NaN.
        let empty = line("None", Scale::Count, &labels(3), &[]).into_string();
        assert!(
            !empty.contains("NaN") && !empty.contains("<polyline"),
            "{empty}"
        );
        let one = line("One", Scale::Count, &labels(1), &[s(3.0)]).into_string();
        assert!(!one.contains("NaN"), "{one}");
    }

    #[test]
    fn labels_and_names_are_escaped() {
        let s = Series {
            class: "s0".into(),
            label: "<script>".into(),
            values: vec![Some(1.0)],
        };
        let svg = line("<b>", Scale::Count, &["<i>".to_owned()], &[s]).into_string();
        assert!(!svg.contains("<script>") && !svg.contains("<b>") && !svg.contains("<i>"));
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }
}
