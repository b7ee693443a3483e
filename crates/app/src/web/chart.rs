//! Charts as data: a page describes each chart (kind, labels, series, axes) as JSON in a
//! `<script type="application/json">` beside its `<canvas data-chart>`, and `charts.js` draws them all
//! the same way with Chart.js (from npm): axes with titles, legends, tooltips, zoom and pan on time
//! series, labels readable on a phone, colours that follow light and dark mode.

use serde::Serialize;

/// Colours with at least 3:1 contrast on white and on the dark theme's background.
pub mod colour {
    pub const BLUE: &str = "#0d6efd";
    pub const GREEN: &str = "#198754";
    pub const PURPLE: &str = "#6f42c1";
    pub const TEAL: &str = "#20c997";
    pub const GREY: &str = "#adb5bd";
}

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// `bar` or `line`.
    pub kind: &'static str,
    pub labels: Vec<String>,
    pub datasets: Vec<Series>,
    /// What the value axis measures ("orders per hour").
    pub value_title: String,
    /// What the category axis holds ("local hour").
    pub label_title: String,
    /// Values are percentages: the axis says so (and is not forced to start at 0).
    pub percent: bool,
    /// Bars run left to right (categories down the side).
    pub horizontal: bool,
    /// Series stack on one another (a series is null where another has the value).
    pub stacked: bool,
    /// A time series: wheel, pinch or drag to zoom, double-click to reset.
    pub zoom: bool,
    /// Labels are instants `YYYY-MM-DDTHH:MM` or dates: shortened on the axis, whole in tooltips.
    pub time: bool,
    /// A unit after each value in tooltips (" s", " orders").
    pub unit: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub label: String,
    pub data: Vec<Option<f64>>,
    pub colour: &'static str,
    pub dashed: bool,
}

impl Series {
    pub fn new(label: &str, data: Vec<Option<f64>>, colour: &'static str) -> Self {
        Series {
            label: label.to_string(),
            data,
            colour,
            dashed: false,
        }
    }
}

impl Chart {
    pub fn bar(labels: Vec<String>, datasets: Vec<Series>, value_title: &str) -> Self {
        Chart {
            kind: "bar",
            labels,
            datasets,
            value_title: value_title.to_string(),
            label_title: String::new(),
            percent: false,
            horizontal: false,
            stacked: false,
            zoom: false,
            time: false,
            unit: String::new(),
        }
    }

    /// The JSON a page carries inside `<script type="application/json">` (no `<` to end it early).
    pub fn json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "null".into())
            .replace('<', "\\u003c")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_json_that_cannot_close_its_script_element() {
        let mut chart = Chart::bar(
            vec!["</script><b>".into()],
            vec![Series::new("up", vec![Some(1.5), None], colour::GREEN)],
            "percent",
        );
        chart.percent = true;
        let json = chart.json();
        assert!(!json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["labels"][0], "</script><b>");
        assert_eq!(back["datasets"][0]["data"][1], serde_json::Value::Null);
        assert_eq!(back["percent"], true);
    }
}
