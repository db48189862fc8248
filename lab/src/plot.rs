//! SVG charts of measurements, drawn with `plotters` (SVG backend only):
//! lines over load levels or numbers, empirical CDFs of latency samples,
//! and grouped or stacked bars. Shared by the benchmarks (`bench/`) and the
//! experiment's report, which decide what to plot; this module only
//! draws, and refuses (with [`PlotError`]) rather than panics on data it
//! cannot draw.
//!
//! Every chart is a fixed-size SVG document with a title, axis labels and
//! a legend naming its series; non-finite values are left out.

use std::fmt;
use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width and height of every chart, in pixels.
pub const SIZE: (u32, u32) = (820, 500);

const FONT: &str = "sans-serif";

/// Colours that stay apart for colour-blind readers (Okabe and Ito),
/// without their yellow, which is too light on white; then grey, the
/// colour a caller gives a baseline with [`Series::baseline`].
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(128, 128, 128),
];

/// The palette index of grey, for baselines.
pub const GREY: usize = 7;

/// The colour of palette index `index` (taken modulo the palette's size),
/// as `#RRGGBB`, the way the SVG names it.
pub fn colour_hex(index: usize) -> String {
    let RGBColor(r, g, b) = colour(index);
    format!("#{r:02X}{g:02X}{b:02X}")
}

fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Why a chart was not drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlotError {
    /// Nothing to draw: no series, category or finite value.
    NoData { title: String },
    /// The data does not fit the chart, e.g. more values than categories.
    Shape { title: String, detail: String },
    /// The drawing library failed.
    Drawing { title: String, detail: String },
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::NoData { title } => write!(f, "chart \"{title}\": no data to plot"),
            PlotError::Shape { title, detail } => write!(f, "chart \"{title}\": {detail}"),
            PlotError::Drawing { title, detail } => {
                write!(f, "chart \"{title}\": drawing failed: {detail}")
            }
        }
    }
}

impl std::error::Error for PlotError {}

/// How a line is drawn, so that series of one colour can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stroke {
    #[default]
    Solid,
    Dashed,
    Dotted,
}

impl Stroke {
    /// Solid, dashed, dotted, solid, ... for the `index`-th of a set.
    pub fn nth(index: usize) -> Self {
        [Stroke::Solid, Stroke::Dashed, Stroke::Dotted][index % 3]
    }
}

/// Where the legend goes inside the plotting area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Corner {
    /// The corner the lines cross least (upper left on a tie); when every
    /// corner would hide some of them, beside the plot on the right, the
    /// chart made wider for it.
    #[default]
    Best,
    UpperLeft,
    UpperRight,
    LowerRight,
    LowerLeft,
}

impl Corner {
    const FIXED: [Corner; 4] = [
        Corner::UpperLeft,
        Corner::UpperRight,
        Corner::LowerRight,
        Corner::LowerLeft,
    ];

    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::Best | Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        }
    }

    /// Whether `(x, y)`, both 0 to 1 from the lower left of the plotting
    /// area, lies under a legend `(width, height)` (same units) here.
    fn covers(self, (x, y): (f64, f64), (width, height): (f64, f64)) -> bool {
        let left = x <= width;
        let right = x >= 1.0 - width;
        let top = y >= 1.0 - height;
        let bottom = y <= height;
        match self {
            Corner::Best | Corner::UpperLeft => left && top,
            Corner::UpperRight => right && top,
            Corner::LowerRight => right && bottom,
            Corner::LowerLeft => left && bottom,
        }
    }
}

/// The plotting area inside a chart of [`SIZE`], in pixels (less the
/// margins, the caption and the axes' label areas).
const PLOT_AREA: (f64, f64) = (716.0, 386.0);

/// Where a legend is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Inside(Corner),
    /// Right of the plotting area, in this many more pixels of width.
    Right(u32),
}

/// The width a legend for `names` takes beside the plot, in pixels: the
/// box plotters draws (its text estimate, the sample line, the padding)
/// with room for the viewer's wider text.
fn legend_width(names: &[&str]) -> u32 {
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    u32::try_from(longest).map_or(u32::MAX, |n| n.saturating_mul(7).saturating_add(64))
}

/// The corner whose legend (for `names`) covers the fewest points of the
/// lines, `first` winning a tie, and how many it covers; `axes` place
/// the points.
fn best_corner(
    lines: &[Vec<(f64, f64)>],
    names: &[&str],
    (x_axis, y_axis): (&Ticked, &Ticked),
    first: Corner,
) -> (Corner, usize) {
    // The legend's size as the SVG viewer draws 13 px text, about 7 px a
    // character, with the sample line, the padding and the gap to the axis.
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let size = (
        (longest as f64 * 7.5 + 50.0) / PLOT_AREA.0,
        (names.len() as f64 * 17.0 + 20.0) / PLOT_AREA.1,
    );
    const SCALE: i32 = 10_000;
    let place = |(x, y): (f64, f64)| {
        (
            f64::from(x_axis.map(&x, (0, SCALE))) / f64::from(SCALE),
            f64::from(y_axis.map(&y, (0, SCALE))) / f64::from(SCALE),
        )
    };
    // Each segment of each line, sampled, so that a long segment through
    // a corner counts even with no point in it.
    let mut samples = Vec::new();
    for line in lines {
        let placed: Vec<(f64, f64)> = line.iter().copied().map(place).collect();
        samples.extend(placed.iter().copied());
        for pair in placed.windows(2) {
            if let [(x0, y0), (x1, y1)] = pair {
                samples.extend((1..16).map(|step| {
                    let t = f64::from(step) / 16.0;
                    (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
                }));
            }
        }
    }
    let crossings = |corner: Corner| samples.iter().filter(|&&p| corner.covers(p, size)).count();
    let mut best = first;
    let mut fewest = crossings(first);
    for corner in Corner::FIXED {
        let count = crossings(corner);
        if count < fewest {
            best = corner;
            fewest = count;
        }
    }
    (best, fewest)
}

/// One named line: `(x, y)` points in the order they are joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Palette index (see [`colour_hex`]).
    pub colour: usize,
    pub stroke: Stroke,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            colour: 0,
            stroke: Stroke::Solid,
        }
    }

    pub fn colour(mut self, colour: usize) -> Self {
        self.colour = colour;
        self
    }

    pub fn stroke(mut self, stroke: Stroke) -> Self {
        self.stroke = stroke;
        self
    }

    /// Grey and dotted: the reference the other series are read against.
    pub fn baseline(self) -> Self {
        self.colour(GREY).stroke(Stroke::Dotted)
    }

    /// The step line of the empirical CDF of `samples`, in percent of the
    /// samples at or below each value (see [`cdf_points`]).
    pub fn cdf(name: impl Into<String>, samples: &[f64]) -> Self {
        Self::new(name, cdf_points(samples))
    }

    fn finite_points(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    }
}

/// The empirical CDF of `samples` as the corners of its step line: for
/// the i-th smallest of n finite samples, the share below it and the
/// share at or below it, in percent (0 to 100). Empty for no samples.
pub fn cdf_points(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut points = Vec::with_capacity(sorted.len() * 2);
    for (i, value) in sorted.into_iter().enumerate() {
        points.push((value, 100.0 * i as f64 / n));
        points.push((value, 100.0 * (i + 1) as f64 / n));
    }
    points
}

/// The x axis of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Numbers, with round ticks; on a log scale (ticks 1, 2 and 5 × 10ⁿ,
    /// the label saying so) when every x is positive and the largest is at
    /// least [`LOG_SCALE_FROM`] times the smallest, so that one slow
    /// series does not squeeze the others into a corner.
    Numeric,
    /// Named, evenly spaced positions: a point's x is the index of its
    /// category (load levels 1, 4, 16 are 0, 1, 2).
    Categories(Vec<String>),
}

/// The ratio of the largest x to the smallest from which a numeric x axis
/// is logarithmic.
pub const LOG_SCALE_FROM: f64 = 10.0;

/// Lines over a numeric or categorical x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: XAxis,
    pub series: Vec<Series>,
    /// Start the y axis at 0 rather than just below the smallest value.
    pub y_from_zero: bool,
    /// The top of the y axis (100 for percentages), if not the data's.
    pub y_max: Option<f64>,
    /// Mark each point with a dot (so that a series of one point shows).
    pub markers: bool,
    pub legend: Corner,
}

impl LineChart {
    /// A chart of `series` against named x positions, y from zero, points
    /// marked, the legend upper left.
    pub fn over_categories(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        categories: Vec<String>,
        series: Vec<Series>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_axis: XAxis::Categories(categories),
            series,
            y_from_zero: true,
            y_max: None,
            markers: true,
            legend: Corner::Best,
        }
    }

    /// A CDF chart: each series a step line from [`Series::cdf`], x the
    /// value (`x_label`), y the percentage of samples at or below it.
    pub fn cdf(title: impl Into<String>, x_label: impl Into<String>, series: Vec<Series>) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: "% of samples at or below".into(),
            x_axis: XAxis::Numeric,
            series,
            y_from_zero: true,
            y_max: Some(100.0),
            markers: false,
            legend: Corner::Best,
        }
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String, PlotError> {
        let series: Vec<(&Series, Vec<(f64, f64)>)> = self
            .series
            .iter()
            .map(|s| (s, s.finite_points()))
            .filter(|(_, points)| !points.is_empty())
            .collect();
        let xs = series.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
        let ys = series.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y));
        let (Some(x_span), Some(y_span)) = (span(xs), span(ys)) else {
            return Err(PlotError::NoData {
                title: self.title.clone(),
            });
        };
        let log_x = self.x_axis == XAxis::Numeric
            && x_span.0 > 0.0
            && x_span.1 >= x_span.0 * LOG_SCALE_FROM;
        let x_label = if log_x {
            format!("{} (log scale)", self.x_label)
        } else {
            self.x_label.clone()
        };
        let x_axis = match &self.x_axis {
            XAxis::Numeric if log_x => Ticked::log(x_span),
            XAxis::Numeric => Ticked::nice(pad(x_span, 0.02)),
            XAxis::Categories(names) => {
                if names.is_empty() {
                    return Err(PlotError::NoData {
                        title: self.title.clone(),
                    });
                }
                if let Some(bad) = series
                    .iter()
                    .flat_map(|(_, p)| p.iter())
                    .find(|(x, _)| *x < 0.0 || *x > (names.len() - 1) as f64)
                {
                    return Err(PlotError::Shape {
                        title: self.title.clone(),
                        detail: format!(
                            "x {} is not the index of one of the {} categories",
                            bad.0,
                            names.len()
                        ),
                    });
                }
                let (range, ticks) = category_axis(names.len());
                Ticked::new(range, ticks)
            }
        };
        let y_axis = Ticked::nice(match self.y_max {
            Some(top) => y_span.0.min(0.0)..top,
            None => y_axis(y_span, self.y_from_zero, 1.05),
        });
        let placement = match self.legend {
            Corner::Best => {
                let lines: Vec<Vec<(f64, f64)>> = series.iter().map(|(_, p)| p.clone()).collect();
                let names: Vec<&str> = series.iter().map(|(s, _)| s.name.as_str()).collect();
                match best_corner(&lines, &names, (&x_axis, &y_axis), Corner::UpperLeft) {
                    (corner, 0) => Placement::Inside(corner),
                    _ => Placement::Right(legend_width(&names)),
                }
            }
            fixed => Placement::Inside(fixed),
        };
        let (size, right) = match placement {
            Placement::Inside(_) => (SIZE, 0),
            Placement::Right(width) => ((SIZE.0.saturating_add(width), SIZE.1), width),
        };
        let draw =
            |svg: &mut String| -> Result<(), String> {
                let root = SVGBackend::with_string(svg, size).into_drawing_area();
                root.fill(&WHITE).map_err(|e| e.to_string())?;
                let mut chart = frame(&root, &self.title, x_axis, y_axis, right)?;
                let label = |value: &f64| match &self.x_axis {
                    XAxis::Numeric => tick(*value),
                    XAxis::Categories(names) => category_label(names, *value),
                };
                mesh(&mut chart, &x_label, &self.y_label, &label, true)?;
                for (series, points) in &series {
                    let style = colour(series.colour).stroke_width(2);
                    let annotation = match series.stroke {
                        Stroke::Solid => chart.draw_series(LineSeries::new(points.clone(), style)),
                        Stroke::Dashed => {
                            chart.draw_series(DashedLineSeries::new(points.clone(), 8, 5, style))
                        }
                        Stroke::Dotted => {
                            chart.draw_series(DashedLineSeries::new(points.clone(), 2, 4, style))
                        }
                    }
                    .map_err(|e| e.to_string())?;
                    let stroke = series.stroke;
                    annotation
                        .label(series.name.as_str())
                        .legend(move |(x, y)| legend_line(stroke, style, x, y));
                    if self.markers {
                        chart
                            .draw_series(points.iter().map(|&point| {
                                Circle::new(point, 4, colour(series.colour).filled())
                            }))
                            .map_err(|e| e.to_string())?;
                    }
                }
                match placement {
                    Placement::Inside(corner) => legend(&mut chart, corner)?,
                    Placement::Right(_) => {
                        let entries: Vec<(&str, usize, Stroke)> = series
                            .iter()
                            .map(|(s, _)| (s.name.as_str(), s.colour, s.stroke))
                            .collect();
                        let (xs, ys) = chart.plotting_area().get_pixel_range();
                        legend_beside(&root, &entries, (xs.end.saturating_add(12), ys.start))?;
                    }
                }
                root.present().map_err(|e| e.to_string())
            };
        render(&self.title, draw)
    }
}

/// How bars of several groups share a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarLayout {
    /// Side by side, each with its own label above it.
    Grouped,
    /// On top of each other in group order; the category's label above
    /// the stack.
    Stacked,
}

/// One group of bars: a value per category (`None`: no bar there).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub name: String,
    pub values: Vec<Option<f64>>,
    /// Grouped layout: text above each bar, one per category (or none).
    pub labels: Vec<String>,
    /// Palette index (see [`colour_hex`]).
    pub colour: usize,
}

impl BarGroup {
    pub fn new(name: impl Into<String>, values: Vec<Option<f64>>, colour: usize) -> Self {
        Self {
            name: name.into(),
            values,
            labels: Vec::new(),
            colour,
        }
    }

    pub fn labels(mut self, labels: Vec<String>) -> Self {
        self.labels = labels;
        self
    }
}

/// Bars over named categories.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub groups: Vec<BarGroup>,
    pub layout: BarLayout,
    /// Stacked layout: text above each stack, one per category (or none).
    pub stack_labels: Vec<String>,
    pub legend: Corner,
}

impl BarChart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        categories: Vec<String>,
        groups: Vec<BarGroup>,
        layout: BarLayout,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            categories,
            groups,
            layout,
            stack_labels: Vec::new(),
            legend: Corner::UpperLeft,
        }
    }

    pub fn stack_labels(mut self, labels: Vec<String>) -> Self {
        self.stack_labels = labels;
        self
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String, PlotError> {
        let n = self.categories.len();
        let shape = |detail: String| PlotError::Shape {
            title: self.title.clone(),
            detail,
        };
        for group in &self.groups {
            if group.values.len() > n {
                return Err(shape(format!(
                    "{} has {} values for {n} categories",
                    group.name,
                    group.values.len()
                )));
            }
            if group.labels.len() > n {
                return Err(shape(format!(
                    "{} has {} labels for {n} categories",
                    group.name,
                    group.labels.len()
                )));
            }
        }
        if self.stack_labels.len() > n {
            return Err(shape(format!(
                "{} stack labels for {n} categories",
                self.stack_labels.len()
            )));
        }
        let value = |group: &BarGroup, category: usize| {
            group
                .values
                .get(category)
                .copied()
                .flatten()
                .filter(|v| v.is_finite())
        };
        // Each bar as (group, category, bottom, top).
        let mut bars: Vec<(usize, usize, f64, f64)> = Vec::new();
        for category in 0..n {
            let mut stack = 0.0;
            for (g, group) in self.groups.iter().enumerate() {
                let Some(v) = value(group, category) else {
                    continue;
                };
                match self.layout {
                    BarLayout::Grouped => bars.push((g, category, 0.0, v)),
                    BarLayout::Stacked => {
                        bars.push((g, category, stack, stack + v));
                        stack += v;
                    }
                }
            }
        }
        let Some(y_span) = span(bars.iter().flat_map(|&(_, _, lo, hi)| [lo, hi])) else {
            return Err(PlotError::NoData {
                title: self.title.clone(),
            });
        };
        // Room above the bars for their labels and the legend.
        let y_range = y_axis(y_span, true, 1.2);
        let (x_range, ticks) = category_axis(n);
        let groups = self.groups.len().max(1) as f64;
        let slot = |g: usize, category: usize| -> (f64, f64) {
            let c = category as f64;
            match self.layout {
                BarLayout::Grouped => {
                    // The group fills most of its slot, but one bar alone
                    // is not a wall.
                    let width = (0.8 / groups).min(0.4);
                    let left = c - width * groups / 2.0 + g as f64 * width;
                    (left + width * 0.06, left + width * 0.94)
                }
                BarLayout::Stacked => (c - 0.3, c + 0.3),
            }
        };
        let draw = |svg: &mut String| -> Result<(), String> {
            let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = frame(
                &root,
                &self.title,
                Ticked::new(x_range, ticks),
                Ticked::nice(y_range),
                0,
            )?;
            let label = |value: &f64| category_label(&self.categories, *value);
            mesh(&mut chart, &self.x_label, &self.y_label, &label, false)?;
            let above = (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            for (g, group) in self.groups.iter().enumerate() {
                let fill = colour(group.colour).filled();
                let rectangles =
                    bars.iter()
                        .filter(|bar| bar.0 == g)
                        .map(|&(_, category, lo, hi)| {
                            let (left, right) = slot(g, category);
                            Rectangle::new([(left, lo), (right, hi)], fill)
                        });
                chart
                    .draw_series(rectangles)
                    .map_err(|e| e.to_string())?
                    .label(group.name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], fill));
                if self.layout == BarLayout::Grouped {
                    let texts =
                        bars.iter()
                            .filter(|bar| bar.0 == g)
                            .filter_map(|&(_, category, _, hi)| {
                                let text = group.labels.get(category).filter(|t| !t.is_empty())?;
                                let (left, right) = slot(g, category);
                                Some(Text::new(
                                    text.clone(),
                                    ((left + right) / 2.0, hi),
                                    above.clone(),
                                ))
                            });
                    chart.draw_series(texts).map_err(|e| e.to_string())?;
                }
            }
            if self.layout == BarLayout::Stacked {
                let tops = self
                    .stack_labels
                    .iter()
                    .enumerate()
                    .filter(|(_, text)| !text.is_empty())
                    .filter_map(|(category, text)| {
                        let top = bars
                            .iter()
                            .filter(|bar| bar.1 == category)
                            .map(|bar| bar.3)
                            .fold(None, |most: Option<f64>, v| {
                                Some(most.map_or(v, |m| m.max(v)))
                            })?;
                        Some(Text::new(
                            text.clone(),
                            (category as f64, top),
                            above.clone(),
                        ))
                    });
                chart.draw_series(tops).map_err(|e| e.to_string())?;
            }
            legend(&mut chart, self.legend)?;
            root.present().map_err(|e| e.to_string())
        };
        render(&self.title, draw)
    }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticked, Ticked>>;

/// A linear or logarithmic axis with the ticks this module chose
/// (plotters' own pick cannot be told to put one at each category).
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
    log: bool,
}

impl Ticked {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            range,
            ticks,
            log: false,
        }
    }

    /// Round ticks over `range`, widened to start and end on one.
    fn nice(range: Range<f64>) -> Self {
        let range = nice_range(range, 8);
        let ticks = nice_ticks(&range, 8);
        Self::new(range, ticks)
    }

    /// A log scale over positive `(lo, hi)`, from the 1, 2 or 5 × 10ⁿ at
    /// or below `lo` to the one at or above `hi`, with a tick at each.
    fn log((lo, hi): (f64, f64)) -> Self {
        let steps = one_two_five(lo, hi);
        let below = steps.iter().copied().rfind(|v| *v <= lo).unwrap_or(lo);
        let above = steps.iter().copied().find(|v| *v >= hi).unwrap_or(hi);
        let ticks = steps
            .into_iter()
            .filter(|v| *v >= below && *v <= above)
            .collect();
        Self {
            range: below..above,
            ticks,
            log: true,
        }
    }
}

/// 1, 2 and 5 × 10ⁿ from the decade below `lo` to the one above `hi`.
fn one_two_five(lo: f64, hi: f64) -> Vec<f64> {
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    (first..=last)
        .flat_map(|exponent| {
            [1.0, 2.0, 5.0]
                .into_iter()
                .map(move |m| m * 10f64.powi(exponent))
        })
        .collect()
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (start, end, value) = if self.log {
            // Only positive values reach a log axis; anything else is
            // put at its start.
            let log = |v: f64| v.max(f64::MIN_POSITIVE).log10();
            (log(self.range.start), log(self.range.end), log(*value))
        } else {
            (self.range.start, self.range.end, *value)
        };
        let width = end - start;
        let share = if width > 0.0 {
            (value - start) / width
        } else {
            0.5
        };
        // `as` saturates: a value far off the axis lands on its edge's side.
        let offset = (f64::from(limit.1) - f64::from(limit.0)) * share;
        limit.0.saturating_add(offset.round() as i32)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Draws into a fresh string and turns the library's errors into ours.
fn render(
    title: &str,
    draw: impl FnOnce(&mut String) -> Result<(), String>,
) -> Result<String, PlotError> {
    let mut svg = String::new();
    draw(&mut svg).map_err(|detail| PlotError::Drawing {
        title: title.to_string(),
        detail,
    })?;
    Ok(svg)
}

/// The chart's frame: title, margins (`right` more pixels on the right,
/// for a legend there), label areas and axes.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    x: Ticked,
    y: Ticked,
    right: u32,
) -> Result<Chart<'a, 'b>, String> {
    ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(16)
        .margin_right(16_u32.saturating_add(right))
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())
}

/// Axes, ticks and grid; `x_grid`: vertical grid lines at the x ticks.
fn mesh<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    x_label: &str,
    y_label: &str,
    x_tick: &dyn Fn(&f64) -> String,
    x_grid: bool,
) -> Result<(), String> {
    let y_tick = |value: &f64| tick(*value);
    let mut mesh = chart.configure_mesh();
    if !x_grid {
        mesh.disable_x_mesh();
    }
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(x_tick)
        .y_label_formatter(&y_tick)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(220, 220, 220))
        .draw()
        .map_err(|e| e.to_string())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, corner: Corner) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(corner.position())
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(|e| e.to_string())
}

/// A legend right of the plotting area, its top left at `(left, top)` in
/// pixels of the whole chart (plotters clips its own legend to the
/// plotting area): a sample line and the name of each entry, boxed.
fn legend_beside(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    entries: &[(&str, usize, Stroke)],
    (left, top): (i32, i32),
) -> Result<(), String> {
    const LINE: i32 = 18;
    let rows = i32::try_from(entries.len()).unwrap_or(i32::MAX);
    let names: Vec<&str> = entries.iter().map(|(name, _, _)| *name).collect();
    let width = i32::try_from(legend_width(&names)).unwrap_or(i32::MAX);
    let bottom = top
        .saturating_add(rows.saturating_mul(LINE))
        .saturating_add(12);
    root.draw(&Rectangle::new(
        [(left, top), (left.saturating_add(width - 16), bottom)],
        RGBColor(160, 160, 160),
    ))
    .map_err(|e| e.to_string())?;
    let font = (FONT, 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (row, (name, colour_index, stroke)) in (0..rows).zip(entries) {
        let y = top
            .saturating_add(15)
            .saturating_add(row.saturating_mul(LINE));
        let style = colour(*colour_index).stroke_width(2);
        root.draw(&legend_line::<SVGBackend<'_>>(
            *stroke,
            style,
            left.saturating_add(8),
            y,
        ))
        .map_err(|e| e.to_string())?;
        root.draw(&Text::new(
            *name,
            (left.saturating_add(38), y),
            font.clone(),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn legend_line<DB: DrawingBackend>(
    stroke: Stroke,
    style: ShapeStyle,
    x: i32,
    y: i32,
) -> DynElement<'static, DB, (i32, i32)> {
    let path = vec![(x, y), (x + 22, y)];
    match stroke {
        Stroke::Solid => PathElement::new(path, style).into_dyn(),
        Stroke::Dashed => DashedPathElement::new(path, 7, 4, style).into_dyn(),
        Stroke::Dotted => DashedPathElement::new(path, 2, 4, style).into_dyn(),
    }
}

/// The smallest and largest of `values`, if any.
fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |span, v| match span {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `(lo, hi)` widened by `share` of its width on each side; a single value
/// gets room around it, so that no axis has zero width.
fn pad((lo, hi): (f64, f64), share: f64) -> Range<f64> {
    let width = hi - lo;
    if width > 0.0 {
        (lo - width * share)..(hi + width * share)
    } else {
        let room = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - room)..(hi + room)
    }
}

/// The y range: from 0 (or just below the smallest value) to `headroom`
/// times the largest.
fn y_axis((lo, hi): (f64, f64), from_zero: bool, headroom: f64) -> Range<f64> {
    let bottom = if from_zero { lo.min(0.0) } else { lo };
    let top = if hi > bottom {
        bottom + (hi - bottom) * headroom
    } else {
        bottom + if bottom == 0.0 { 1.0 } else { bottom.abs() }
    };
    bottom..top
}

/// Categories at 0, 1, ..., n − 1 with half a slot either side; at most
/// about 20 of them get a tick, at a round spacing.
fn category_axis(n: usize) -> (Range<f64>, Vec<f64>) {
    let every = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        .into_iter()
        .find(|every| n.div_ceil(*every) <= 20)
        .unwrap_or(n.div_ceil(20).max(1));
    let ticks = (0..n).step_by(every).map(|i| i as f64).collect();
    (-0.5..(n as f64 - 0.5), ticks)
}

fn category_label(names: &[String], value: f64) -> String {
    let index = value.round();
    if (value - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    names.get(index as usize).cloned().unwrap_or_default()
}

/// The step of round ticks, 1, 2 or 5 × 10ⁿ apart, about `target` of
/// them over `width`; `None` for a width that is not positive and finite.
fn nice_step(width: f64, target: usize) -> Option<f64> {
    if !(width > 0.0 && width.is_finite()) {
        return None;
    }
    let raw = width / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
}

/// Round ticks over `range`, about `target` of them, inside it.
fn nice_ticks(range: &Range<f64>, target: usize) -> Vec<f64> {
    let Some(step) = nice_step(range.end - range.start, target) else {
        return vec![range.start];
    };
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// `range` widened to the round ticks just outside it, so that the axis
/// starts and ends on a labelled tick.
fn nice_range(range: Range<f64>, target: usize) -> Range<f64> {
    match nice_step(range.end - range.start, target) {
        Some(step) => (range.start / step).floor() * step..(range.end / step).ceil() * step,
        None => range,
    }
}

/// A tick's text: whole numbers without decimals, others with up to three
/// significant decimals.
fn tick(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Every `<text>`'s content in an SVG chart, trimmed, in document order:
/// what a reader of the chart sees, for tests of the charts. An error
/// unless the SVG is well-formed XML.
pub fn svg_texts(svg: &str) -> Result<Vec<String>, String> {
    let document = roxmltree::Document::parse(svg).map_err(|e| format!("not well-formed: {e}"))?;
    Ok(texts(&document))
}

fn texts(document: &roxmltree::Document<'_>) -> Vec<String> {
    document
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .map(|node| node.text().unwrap_or_default().trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document, parsed: panics (fails the test) unless well-formed.
    fn parse(svg: &str) -> roxmltree::Document<'_> {
        match roxmltree::Document::parse(svg) {
            Ok(document) => document,
            Err(error) => panic!("not well-formed XML: {error}\n{svg}"),
        }
    }

    /// Fails the test unless every one of `expected` is a text of the chart.
    fn assert_texts(texts: &[String], expected: &[&str]) {
        for expected in expected {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?} in {texts:?}"
            );
        }
    }

    /// Elements stroked or filled with `hex`.
    fn painted(document: &roxmltree::Document<'_>, tag: &str, hex: &str) -> usize {
        document
            .descendants()
            .filter(|node| node.has_tag_name(tag))
            .filter(|node| {
                node.attribute("stroke") == Some(hex) || node.attribute("fill") == Some(hex)
            })
            .count()
    }

    fn latency_chart() -> LineChart {
        let levels = vec!["1".to_string(), "4".to_string(), "16".to_string()];
        LineChart::over_categories(
            "Latency against load",
            "transactions in flight",
            "latency (ms)",
            levels,
            vec![
                Series::new("PutEhr p50", vec![(0.0, 210.0), (1.0, 260.0), (2.0, 480.0)]),
                Series::new("PutEhr p99", vec![(0.0, 300.0), (1.0, 390.0), (2.0, 900.0)])
                    .stroke(Stroke::Dashed),
                Series::new(
                    "Put <baseline> & co",
                    vec![(0.0, 200.0), (1.0, 240.0), (2.0, 400.0)],
                )
                .colour(1)
                .baseline(),
            ],
        )
    }

    #[test]
    fn a_line_chart_is_well_formed_svg_with_title_axes_ticks_and_series() {
        let svg = latency_chart().svg().unwrap();
        let document = parse(&svg);
        assert_eq!(document.root_element().tag_name().name(), "svg");
        let texts = texts(&document);
        assert_texts(
            &texts,
            &[
                "Latency against load",
                "transactions in flight",
                "latency (ms)",
                "PutEhr p50",
                "PutEhr p99",
                // Escaped on the way in, read back as written.
                "Put <baseline> & co",
                "1",
                "4",
                "16",
            ],
        );
        assert!(svg.contains("&lt;baseline&gt; &amp; co"), "{svg}");
        // Blue: the solid line and its legend entry, the dashed line's
        // many dashes, and three markers per series.
        let blue = colour_hex(0);
        assert!(painted(&document, "polyline", &blue) >= 4, "{svg}");
        assert_eq!(painted(&document, "circle", &blue), 6);
        assert_eq!(painted(&document, "circle", &colour_hex(GREY)), 3);
        // The y axis reaches the largest value: a tick at or above 900.
        assert!(
            texts
                .iter()
                .filter_map(|t| t.parse::<f64>().ok())
                .any(|v| v >= 900.0),
            "{texts:?}"
        );
    }

    #[test]
    fn a_cdf_rises_in_steps_to_one_hundred_percent() {
        assert_eq!(
            cdf_points(&[30.0, 10.0, f64::NAN, 20.0, 20.0]),
            vec![
                (10.0, 0.0),
                (10.0, 25.0),
                (20.0, 25.0),
                (20.0, 50.0),
                (20.0, 50.0),
                (20.0, 75.0),
                (30.0, 75.0),
                (30.0, 100.0),
            ]
        );
        let chart = LineChart::cdf(
            "Exchange latency CDF",
            "latency (ms)",
            vec![
                Series::cdf("1 in flight", &[1100.0, 1150.0, 1300.0]),
                Series::cdf("8 in flight", &[1800.0, 1900.0, 2600.0]).colour(2),
            ],
        );
        let svg = chart.svg().unwrap();
        let document = parse(&svg);
        let texts = texts(&document);
        assert_texts(
            &texts,
            &[
                "Exchange latency CDF",
                "latency (ms)",
                "% of samples at or below",
                "1 in flight",
                "8 in flight",
                "100",
            ],
        );
        // A line per series and one per legend entry; no markers.
        assert_eq!(painted(&document, "polyline", &colour_hex(0)), 2);
        assert_eq!(painted(&document, "polyline", &colour_hex(2)), 2);
        assert_eq!(
            document
                .descendants()
                .filter(|n| n.has_tag_name("circle"))
                .count(),
            0
        );
    }

    #[test]
    fn grouped_bars_carry_their_groups_and_labels() {
        let chart = BarChart::new(
            "Throughput against load",
            "transactions in flight",
            "transactions per second",
            vec!["1".into(), "16".into()],
            vec![
                BarGroup::new("Put (baseline)", vec![Some(5.0), Some(60.0)], GREY),
                BarGroup::new("PutEhr", vec![Some(4.8), Some(50.4)], 0)
                    .labels(vec!["0.96×".into(), "0.84×".into()]),
                BarGroup::new("SubmitRequest", vec![None, Some(55.0)], 1),
            ],
            BarLayout::Grouped,
        );
        let svg = chart.svg().unwrap();
        let document = parse(&svg);
        let texts = texts(&document);
        assert_texts(
            &texts,
            &[
                "Throughput against load",
                "transactions in flight",
                "transactions per second",
                "Put (baseline)",
                "PutEhr",
                "SubmitRequest",
                "0.96×",
                "0.84×",
            ],
        );
        // Bars (and one legend swatch) per group; no bar for a missing value.
        assert_eq!(painted(&document, "rect", &colour_hex(GREY)), 3);
        assert_eq!(painted(&document, "rect", &colour_hex(0)), 3);
        assert_eq!(painted(&document, "rect", &colour_hex(1)), 2);
    }

    #[test]
    fn stacked_bars_reach_the_sum_of_their_parts() {
        let chart = BarChart::new(
            "Exchange phases",
            "exchanges in flight",
            "mean ms",
            vec!["1".into(), "4".into()],
            vec![
                BarGroup::new("submit", vec![Some(250.0), Some(300.0)], 0),
                BarGroup::new("remote", vec![Some(700.0), Some(900.0)], 1),
                BarGroup::new("read", vec![Some(250.0), Some(1300.0)], 2),
            ],
            BarLayout::Stacked,
        )
        .stack_labels(vec!["1200 ms".into(), "2500 ms".into()]);
        let svg = chart.svg().unwrap();
        let document = parse(&svg);
        let texts = texts(&document);
        assert_texts(
            &texts,
            &[
                "Exchange phases",
                "submit",
                "remote",
                "read",
                "1200 ms",
                "2500 ms",
            ],
        );
        // The y axis has room for the stack of 2500: a tick at 2500 or more.
        assert!(
            texts
                .iter()
                .filter_map(|t| t.parse::<f64>().ok())
                .any(|v| v >= 2500.0),
            "{texts:?}"
        );
        assert_eq!(painted(&document, "rect", &colour_hex(2)), 3);
    }

    #[test]
    fn empty_charts_are_refused_with_the_reason() {
        let no_series = LineChart::over_categories("Nothing", "x", "y", vec!["1".into()], vec![]);
        assert_eq!(
            no_series.svg(),
            Err(PlotError::NoData {
                title: "Nothing".into()
            })
        );
        let empty_series = LineChart::cdf(
            "Empty CDF",
            "ms",
            vec![Series::cdf("none", &[]), Series::cdf("NaN", &[f64::NAN])],
        );
        let error = empty_series.svg().unwrap_err();
        assert_eq!(error.to_string(), "chart \"Empty CDF\": no data to plot");
        let no_categories = BarChart::new("Bars", "x", "y", vec![], vec![], BarLayout::Grouped);
        assert!(matches!(no_categories.svg(), Err(PlotError::NoData { .. })));
        let no_values = BarChart::new(
            "Bars",
            "x",
            "y",
            vec!["1".into()],
            vec![BarGroup::new("a", vec![None], 0)],
            BarLayout::Stacked,
        );
        assert!(matches!(no_values.svg(), Err(PlotError::NoData { .. })));
    }

    #[test]
    fn data_that_does_not_fit_the_axis_is_refused() {
        let too_many = BarChart::new(
            "Bars",
            "x",
            "y",
            vec!["1".into()],
            vec![BarGroup::new("a", vec![Some(1.0), Some(2.0)], 0)],
            BarLayout::Grouped,
        );
        let error = too_many.svg().unwrap_err();
        assert!(matches!(error, PlotError::Shape { .. }), "{error}");
        assert!(
            error.to_string().contains("2 values for 1 categories"),
            "{error}"
        );
        let off_axis = LineChart::over_categories(
            "Lines",
            "x",
            "y",
            vec!["1".into()],
            vec![Series::new("a", vec![(3.0, 1.0)])],
        );
        assert!(matches!(off_axis.svg(), Err(PlotError::Shape { .. })));
    }

    #[test]
    fn a_single_point_makes_a_sensible_chart() {
        let one_level = LineChart::over_categories(
            "One level",
            "in flight",
            "ms",
            vec!["1".into()],
            vec![Series::new("p50", vec![(0.0, 1117.0)])],
        );
        let svg = one_level.svg().unwrap();
        let document = parse(&svg);
        assert_eq!(painted(&document, "circle", &colour_hex(0)), 1);
        assert!(texts(&document).iter().any(|t| t == "1"));
        let one_sample = LineChart::cdf("One sample", "ms", vec![Series::cdf("a", &[5.0])]);
        let document_svg = one_sample.svg().unwrap();
        let document = parse(&document_svg);
        // The x axis is widened around the one value, never zero wide.
        let ticks: Vec<f64> = texts(&document)
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect();
        assert!(
            ticks.iter().any(|&t| t < 5.0) && ticks.iter().any(|&t| t > 5.0),
            "{ticks:?}"
        );
        let zero = LineChart::over_categories(
            "All zero",
            "x",
            "y",
            vec!["a".into(), "b".into()],
            vec![Series::new("z", vec![(0.0, 0.0), (1.0, 0.0)])],
        );
        parse(&zero.svg().unwrap());
        let one_bar = BarChart::new(
            "One bar",
            "x",
            "y",
            vec!["only".into()],
            vec![BarGroup::new("a", vec![Some(0.0)], 0)],
            BarLayout::Grouped,
        );
        parse(&one_bar.svg().unwrap());
    }

    #[test]
    fn a_wide_spread_of_values_goes_on_a_log_scale() {
        let chart = LineChart::cdf(
            "WAN CDF",
            "latency (ms)",
            vec![
                Series::cdf("0 ms", &[1500.0, 1600.0, 1700.0]),
                Series::cdf("cut 30 s", &[1600.0, 33000.0]).colour(1),
            ],
        );
        let svg = chart.svg().unwrap();
        let labels = texts(&parse(&svg));
        assert!(
            labels.iter().any(|t| t == "latency (ms) (log scale)"),
            "{labels:?}"
        );
        assert_texts(
            &labels,
            &["1000", "2000", "5000", "10000", "20000", "50000"],
        );
        let axis = Ticked::log((1500.0, 33000.0));
        assert_eq!(axis.range, 1000.0..50000.0);
        assert_eq!(axis.map(&1000.0, (0, 100)), 0);
        assert_eq!(axis.map(&50000.0, (0, 100)), 100);
        // 10000 is log10(10) / log10(50) of the way along.
        assert_eq!(axis.map(&10000.0, (0, 100)), 59);
        assert!(axis.map(&0.0, (0, 100)) < 0);
        // A narrow spread stays linear.
        let narrow = LineChart::cdf("n", "ms", vec![Series::cdf("a", &[100.0, 900.0])]);
        let texts_narrow = texts(&parse(&narrow.svg().unwrap()));
        assert!(texts_narrow.iter().any(|t| t == "ms"), "{texts_narrow:?}");
    }

    #[test]
    fn the_legend_goes_where_the_lines_are_not() {
        let x = Ticked::nice(0.0..100.0);
        let y = Ticked::nice(0.0..100.0);
        let names = ["a fairly long series name"];
        // A CDF rising on the left, then flat along the top: the lower
        // right is free.
        let left = vec![vec![(0.0, 0.0), (10.0, 0.0), (10.0, 100.0), (100.0, 100.0)]];
        assert_eq!(
            best_corner(&left, &names, (&x, &y), Corner::UpperLeft),
            (Corner::LowerRight, 0)
        );
        // A line rising to the right: the upper left is free, and first.
        let rising = vec![vec![(0.0, 0.0), (100.0, 100.0)]];
        assert_eq!(
            best_corner(&rising, &names, (&x, &y), Corner::UpperLeft),
            (Corner::UpperLeft, 0)
        );
        // Lines across the top and the bottom: the corner crossed least,
        // but crossed; nothing to place is no problem either.
        let both = vec![
            vec![(0.0, 98.0), (100.0, 98.0)],
            vec![(0.0, 2.0), (60.0, 2.0), (100.0, 10.0)],
        ];
        let (corner, hidden) = best_corner(&both, &names, (&x, &y), Corner::UpperLeft);
        assert_eq!(corner, Corner::UpperLeft);
        assert!(hidden > 0);
        assert_eq!(
            best_corner(&[], &[], (&x, &y), Corner::UpperLeft),
            (Corner::UpperLeft, 0)
        );
        // Such a chart's legend goes beside the plot, in a wider SVG.
        let chart = LineChart {
            x_axis: XAxis::Numeric,
            y_max: Some(100.0),
            ..LineChart::over_categories(
                "Crowded",
                "x",
                "y",
                Vec::new(),
                vec![
                    Series::new(
                        "a fairly long series name",
                        vec![(0.0, 99.0), (100.0, 99.0)],
                    ),
                    Series::new("another", vec![(0.0, 1.0), (100.0, 1.0)]).colour(1),
                ],
            )
        };
        let svg = chart.svg().unwrap();
        let document = parse(&svg);
        let width: u32 = document
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            width,
            SIZE.0 + legend_width(&["a fairly long series name", "another"])
        );
        // The legend's text starts right of the plotting area.
        let label = document
            .descendants()
            .find(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some("another"))
            .unwrap();
        let x: u32 = label.attribute("x").unwrap().parse().unwrap();
        assert!(x > SIZE.0 - 16, "legend at x {x}");
    }

    #[test]
    fn ticks_are_round_and_categories_thin_out() {
        assert_eq!(
            nice_ticks(&(0.0..10.0), 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(&(95.0..1020.0), 4), vec![500.0, 1000.0]);
        assert_eq!(nice_ticks(&(3.0..3.0), 5), vec![3.0]);
        assert_eq!(nice_range(0.0..972.0, 8), 0.0..1000.0);
        assert_eq!(nice_range(1080.0..2620.0, 8), 1000.0..2800.0);
        assert_eq!(nice_range(0.0..100.0, 8), 0.0..100.0);
        assert_eq!(nice_range(2.0..2.0, 8), 2.0..2.0);
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(1.0 / 3.0), "0.333");
        let (range, ticks) = category_axis(3);
        assert_eq!((range, ticks), (-0.5..2.5, vec![0.0, 1.0, 2.0]));
        let (_, ticks) = category_axis(50);
        assert_eq!(ticks.len(), 10);
        assert_eq!(ticks[1], 5.0);
        let names = vec!["1".to_string(), "4".to_string()];
        assert_eq!(category_label(&names, 1.0), "4");
        assert_eq!(category_label(&names, 0.5), "");
        assert_eq!(category_label(&names, 7.0), "");
    }
}
