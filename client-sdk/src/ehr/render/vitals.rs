//! Vital signs: which observations are vital signs, the measurements they
//! carry (blood pressure, heart rate, weight, BMI, temperature) and their
//! trends as small SVG charts drawn with `plotters`.
//!
//! A measurement's value is kept as the received JSON text, which is what
//! the page shows; it is read as an `f64` only to place a point on a chart.
//! Units are shown readably (`mm[Hg]` as `mmHg`, `Cel` as `°C`); a series
//! is charted in the unit of its latest value, and values in another unit
//! are counted rather than mixed in.

use plotters::prelude::*;
use serde_json::Value;

use super::{FhirDate, dates::readable, exact_number, string};

/// LOINC, the code system of vital signs.
const LOINC: &str = "http://loinc.org";

/// Blood pressure panels, whose components are systolic and diastolic.
const BLOOD_PRESSURE_PANELS: [&str; 2] = ["85354-9", "55284-4"];

/// Vital-sign codes shown in the section but not charted: respiratory
/// rate, oxygen saturation, height, head circumference, the vital-signs panel.
const OTHER_VITAL_CODES: [&str; 7] = [
    "9279-1", "2708-6", "59408-5", "8302-2", "8306-3", "9843-4", "85353-1",
];

/// Most points a chart draws per series: the latest ones.
pub const MAX_POINTS: usize = 400;

/// A measured quantity that has a trend chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VitalSeries {
    /// Systolic blood pressure (LOINC 8480-6).
    Systolic,
    /// Diastolic blood pressure (8462-4).
    Diastolic,
    /// Heart rate (8867-4).
    HeartRate,
    /// Body weight (29463-7, 3141-9).
    Weight,
    /// Body mass index (39156-5).
    Bmi,
    /// Body temperature (8310-5, 8331-1).
    Temperature,
}

impl VitalSeries {
    fn from_loinc(code: &str) -> Option<Self> {
        Some(match code {
            "8480-6" => Self::Systolic,
            "8462-4" => Self::Diastolic,
            "8867-4" => Self::HeartRate,
            "29463-7" | "3141-9" => Self::Weight,
            "39156-5" => Self::Bmi,
            "8310-5" | "8331-1" => Self::Temperature,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Systolic => "Systolic",
            Self::Diastolic => "Diastolic",
            Self::HeartRate => "Heart rate",
            Self::Weight => "Weight",
            Self::Bmi => "BMI",
            Self::Temperature => "Temperature",
        }
    }

    /// The chart it is drawn on.
    pub fn trend(self) -> Trend {
        match self {
            Self::Systolic | Self::Diastolic => Trend::BloodPressure,
            Self::HeartRate => Trend::HeartRate,
            Self::Weight => Trend::Weight,
            Self::Bmi => Trend::Bmi,
            Self::Temperature => Trend::Temperature,
        }
    }
}

/// One chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trend {
    /// Systolic and diastolic pressure.
    BloodPressure,
    /// Heart rate.
    HeartRate,
    /// Body weight.
    Weight,
    /// Body mass index.
    Bmi,
    /// Body temperature.
    Temperature,
}

impl Trend {
    /// Every chart, in the order shown.
    pub const ALL: [Self; 5] = [
        Self::BloodPressure,
        Self::HeartRate,
        Self::Weight,
        Self::Bmi,
        Self::Temperature,
    ];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Self::BloodPressure => "Blood pressure",
            Self::HeartRate => "Heart rate",
            Self::Weight => "Weight",
            Self::Bmi => "BMI",
            Self::Temperature => "Temperature",
        }
    }

    /// Its id in the page (`data-trend`).
    pub fn id(self) -> &'static str {
        match self {
            Self::BloodPressure => "blood-pressure",
            Self::HeartRate => "heart-rate",
            Self::Weight => "weight",
            Self::Bmi => "bmi",
            Self::Temperature => "temperature",
        }
    }

    /// The series drawn on it, in legend order.
    pub fn series(self) -> &'static [VitalSeries] {
        match self {
            Self::BloodPressure => &[VitalSeries::Systolic, VitalSeries::Diastolic],
            Self::HeartRate => &[VitalSeries::HeartRate],
            Self::Weight => &[VitalSeries::Weight],
            Self::Bmi => &[VitalSeries::Bmi],
            Self::Temperature => &[VitalSeries::Temperature],
        }
    }
}

/// One measured value of an observation (or of one of its components).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    /// What it measures.
    pub series: VitalSeries,
    /// The value exactly as received (JSON number text).
    pub value: String,
    /// Its unit, readable.
    pub unit: Option<String>,
}

/// The LOINC codes of a CodeableConcept.
fn loinc_codes(concept: Option<&Value>) -> impl Iterator<Item = &str> {
    concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|coding| coding.get("system").and_then(Value::as_str) == Some(LOINC))
        .filter_map(|coding| coding.get("code").and_then(Value::as_str))
}

/// Whether an Observation is a vital sign: its category says so, or its
/// code is one of the vital signs' LOINC codes.
pub fn is_vital_sign(observation: &Value) -> bool {
    let categorised = observation
        .get("category")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|category| category.get("coding").and_then(Value::as_array))
        .flatten()
        .any(|coding| coding.get("code").and_then(Value::as_str) == Some("vital-signs"));
    categorised
        || loinc_codes(observation.get("code")).any(|code| {
            VitalSeries::from_loinc(code).is_some()
                || BLOOD_PRESSURE_PANELS.contains(&code)
                || OTHER_VITAL_CODES.contains(&code)
        })
}

fn measurement(series: VitalSeries, element: &Value) -> Option<Measurement> {
    let quantity = element.get("valueQuantity")?;
    Some(Measurement {
        series,
        value: exact_number(quantity.get("value")?)?,
        unit: string(quantity, "unit")
            .or_else(|| string(quantity, "code"))
            .map(|unit| readable_unit(&unit)),
    })
}

/// The charted measurements an Observation carries: its own value, and
/// its components' (a blood pressure panel's systolic and diastolic).
pub fn measurements(observation: &Value) -> Vec<Measurement> {
    let own = loinc_codes(observation.get("code"))
        .find_map(VitalSeries::from_loinc)
        .and_then(|series| measurement(series, observation));
    let components = observation
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|component| {
            let series = loinc_codes(component.get("code")).find_map(VitalSeries::from_loinc)?;
            measurement(series, component)
        });
    own.into_iter().chain(components).collect()
}

/// A unit as a reader writes it: UCUM's common codes mapped, anything
/// else as received.
pub fn readable_unit(unit: &str) -> String {
    match unit {
        "mm[Hg]" => "mmHg",
        "Cel" => "°C",
        "[degF]" | "degF" => "°F",
        "kg/m2" => "kg/m²",
        "m2" => "m²",
        "/min" | "{beats}/min" => "/min",
        "{breaths}/min" => "breaths/min",
        "[lb_av]" => "lb",
        "[in_i]" => "in",
        "uL" => "µL",
        "ug" => "µg",
        "umol/L" => "µmol/L",
        "10*3/uL" => "10³/µL",
        "10*6/uL" => "10⁶/µL",
        "10*9/L" => "10⁹/L",
        "10*12/L" => "10¹²/L",
        "mL/min/{1.73_m2}" => "mL/min/1.73 m²",
        other => return other.to_string(),
    }
    .to_string()
}

/// A dated measurement, as the chart input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedMeasurement {
    /// The measurement.
    pub measurement: Measurement,
    /// When (as received).
    pub effective: Option<String>,
}

/// The latest value of a series, as shown beside its chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// The series.
    pub series: VitalSeries,
    /// The value exactly as received, with its unit.
    pub value: String,
    /// When, readably.
    pub when: Option<String>,
}

/// One chart with its latest values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendChart {
    /// Which.
    pub trend: Trend,
    /// The SVG drawing, if any value has a date and a finite value; else why not.
    pub svg: Result<String, String>,
    /// The latest value of each series.
    pub latest: Vec<Latest>,
    /// Points drawn.
    pub plotted: usize,
    /// Values received but not drawn: undated, another unit, beyond the
    /// latest [`MAX_POINTS`], or not a finite number.
    pub not_plotted: usize,
}

/// The charts of a set of measurements, in [`Trend::ALL`]'s order; a
/// trend with no measurement has no chart.
pub fn trend_charts(measurements: &[DatedMeasurement]) -> Vec<TrendChart> {
    Trend::ALL
        .iter()
        .filter_map(|&trend| trend_chart(trend, measurements))
        .collect()
}

/// A point: days since 1970 and the value.
type Point = (f64, f64);

struct SeriesPoints {
    series: VitalSeries,
    unit: Option<String>,
    points: Vec<Point>,
}

fn trend_chart(trend: Trend, all: &[DatedMeasurement]) -> Option<TrendChart> {
    let mut latest = Vec::new();
    let mut drawn = Vec::new();
    let (mut plotted, mut not_plotted) = (0, 0);
    for &series in trend.series() {
        let mut values: Vec<(Option<FhirDate>, &DatedMeasurement)> = all
            .iter()
            .filter(|m| m.measurement.series == series)
            .map(|m| (m.effective.as_deref().and_then(FhirDate::parse), m))
            .collect();
        if values.is_empty() {
            continue;
        }
        // Oldest first; undated ones first too, so the last is the latest dated.
        values.sort_by_key(|(date, _)| date.map(|d| d.start()));
        let Some(&(_, newest)) = values.last() else {
            continue;
        };
        let unit = newest.measurement.unit.clone();
        latest.push(Latest {
            series,
            value: match &unit {
                Some(unit) => format!("{} {unit}", newest.measurement.value),
                None => newest.measurement.value.clone(),
            },
            when: newest.effective.as_deref().map(readable),
        });
        let mut points: Vec<Point> = values
            .iter()
            .filter(|(_, m)| m.measurement.unit == unit)
            .filter_map(|(date, m)| {
                // A chart position only: the page shows the received text.
                let value: f64 = m.measurement.value.parse().ok()?;
                Some((date.as_ref()?.unix_days(), value))
            })
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let skip = points.len().saturating_sub(MAX_POINTS);
        points.drain(..skip);
        plotted += points.len();
        not_plotted += values.len() - points.len();
        drawn.push(SeriesPoints {
            series,
            unit,
            points,
        });
    }
    if latest.is_empty() {
        return None;
    }
    let svg = if plotted == 0 {
        Err("no dated value to draw".to_string())
    } else {
        draw(trend, &drawn)
    };
    Some(TrendChart {
        trend,
        svg,
        latest,
        plotted,
        not_plotted,
    })
}

/// Chart size in pixels: small, beside its latest values.
pub const CHART_SIZE: (u32, u32) = (380, 170);

/// Series colours (Okabe and Ito: blue, orange), told apart by colour-blind readers.
pub const COLOURS: [RGBColor; 2] = [RGBColor(0, 114, 178), RGBColor(213, 94, 0)];

fn padded(min: f64, max: f64, pad_if_flat: f64) -> (f64, f64) {
    if max - min < f64::EPSILON * max.abs().max(1.0) {
        (min - pad_if_flat, max + pad_if_flat)
    } else {
        let pad = (max - min) * 0.08;
        (min - pad, max + pad)
    }
}

fn bounds(points: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    points.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The x axis label of a day number.
fn day_label(days: f64, span_days: f64) -> String {
    let seconds = (days * 86_400.0).round();
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return String::new();
    }
    #[allow(clippy::cast_possible_truncation)]
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(seconds as i64) else {
        return String::new();
    };
    let date = at.date();
    if span_days > 3.0 * 365.0 {
        date.year().to_string()
    } else if span_days > 90.0 {
        format!("{} {}", &date.month().to_string()[..3], date.year())
    } else {
        format!("{} {}", date.day(), &date.month().to_string()[..3])
    }
}

fn draw(trend: Trend, drawn: &[SeriesPoints]) -> Result<String, String> {
    let all = || drawn.iter().flat_map(|s| s.points.iter());
    let (Some((x0, x1)), Some((y0, y1))) = (bounds(all().map(|p| p.0)), bounds(all().map(|p| p.1)))
    else {
        return Err("no dated value to draw".into());
    };
    let (x0, x1) = padded(x0, x1, 15.0);
    let (y0, y1) = padded(y0, y1, (y0.abs() * 0.1).max(1.0));
    let span = x1 - x0;
    let unit = drawn
        .iter()
        .find_map(|s| s.unit.clone())
        .unwrap_or_default();
    let mut svg = String::new();
    let failed = |e: &dyn std::fmt::Display| format!("drawing the {} chart: {e}", trend.title());
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .margin_right(20)
            .x_label_area_size(20)
            .y_label_area_size(44)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| failed(&e))?;
        let x_label = |x: &f64| day_label(*x, span);
        chart
            .configure_mesh()
            .x_labels(4)
            .y_labels(4)
            .x_label_formatter(&x_label)
            .y_desc(unit)
            .label_style(("sans-serif", 11))
            .axis_desc_style(("sans-serif", 11))
            .light_line_style(RGBColor(236, 239, 242))
            .bold_line_style(RGBColor(208, 215, 222))
            .draw()
            .map_err(|e| failed(&e))?;
        for (index, series) in drawn.iter().enumerate() {
            let colour = COLOURS[index % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    series.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| failed(&e))?
                .label(series.series.name());
            if series.points.len() <= 60 {
                chart
                    .draw_series(
                        series
                            .points
                            .iter()
                            .map(|&point| Circle::new(point, 2, colour.filled())),
                    )
                    .map_err(|e| failed(&e))?;
            }
        }
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loinc(code: &str, display: &str) -> Value {
        json!({"coding": [{"system": LOINC, "code": code, "display": display}]})
    }

    fn dated(observation: &Value) -> Vec<DatedMeasurement> {
        measurements(observation)
            .into_iter()
            .map(|measurement| DatedMeasurement {
                measurement,
                effective: observation
                    .get("effectiveDateTime")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
            .collect()
    }

    fn bp(date: &str, systolic: u32, diastolic: u32) -> Value {
        json!({"resourceType": "Observation", "id": date, "code": loinc("85354-9", "Blood pressure panel"),
               "effectiveDateTime": date,
               "component": [
                 {"code": loinc("8480-6", "Systolic"), "valueQuantity": {"value": systolic, "unit": "mm[Hg]"}},
                 {"code": loinc("8462-4", "Diastolic"), "valueQuantity": {"value": diastolic, "unit": "mm[Hg]"}}]})
    }

    #[test]
    fn vital_signs_are_known_by_category_or_code() {
        assert!(is_vital_sign(&bp("2025-01-01", 120, 80)));
        assert!(is_vital_sign(
            &json!({"code": loinc("9279-1", "Respiratory rate")})
        ));
        assert!(is_vital_sign(
            &json!({"category": [{"coding": [{"code": "vital-signs"}]}],
                                      "code": {"text": "Pulse"}})
        ));
        assert!(!is_vital_sign(&json!({"code": loinc("4548-4", "HbA1c"),
                                       "category": [{"coding": [{"code": "laboratory"}]}]})));
        // A code from another system is not LOINC's.
        assert!(!is_vital_sign(
            &json!({"code": {"coding": [{"system": "urn:x", "code": "8867-4"}]}})
        ));
        // Hostile shapes: arrays where objects go, and the reverse.
        for hostile in [
            json!([]),
            json!({"code": []}),
            json!({"category": {"coding": 1}}),
            json!({"code": {"coding": "8867-4"}}),
        ] {
            assert!(!is_vital_sign(&hostile), "{hostile}");
            assert!(measurements(&hostile).is_empty(), "{hostile}");
        }
    }

    #[test]
    fn measurements_keep_the_received_text_and_read_units() {
        let text = r#"{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
            "valueQuantity":{"value":9.071778718846515,"unit":"kg"}}"#;
        let weight: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            measurements(&weight),
            [Measurement {
                series: VitalSeries::Weight,
                value: "9.071778718846515".into(),
                unit: Some("kg".into())
            }]
        );
        let temperature: Value = serde_json::from_str(
            r#"{"code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},"valueQuantity":{"value":37.10,"code":"Cel"}}"#,
        )
        .unwrap();
        assert_eq!(measurements(&temperature)[0].value, "37.10");
        assert_eq!(measurements(&temperature)[0].unit.as_deref(), Some("°C"));
        let panel = measurements(&bp("2025-01-01", 128, 82));
        assert_eq!(panel.len(), 2);
        assert_eq!(
            (panel[0].series, panel[0].value.as_str()),
            (VitalSeries::Systolic, "128")
        );
        assert_eq!(panel[1].unit.as_deref(), Some("mmHg"));
        assert_eq!(readable_unit("mg/dL"), "mg/dL");
    }

    #[test]
    fn charts_show_the_latest_value_of_each_series_and_draw_the_dated_ones() {
        let mut all: Vec<DatedMeasurement> = ["2025-03-01", "2024-01-15", "2025-06-20"]
            .iter()
            .zip([(131, 85), (120, 80), (142, 90)])
            .flat_map(|(date, (s, d))| dated(&bp(date, s, d)))
            .collect();
        // Undated, and in another unit: shown as received, not drawn.
        all.push(DatedMeasurement {
            measurement: Measurement {
                series: VitalSeries::Systolic,
                value: "119".into(),
                unit: Some("mmHg".into()),
            },
            effective: None,
        });
        all.push(DatedMeasurement {
            measurement: Measurement {
                series: VitalSeries::Systolic,
                value: "16".into(),
                unit: Some("kPa".into()),
            },
            effective: Some("2023-01-01".into()),
        });
        let charts = trend_charts(&all);
        assert_eq!(charts.len(), 1);
        let chart = &charts[0];
        assert_eq!(chart.trend, Trend::BloodPressure);
        assert_eq!(
            chart.latest,
            [
                Latest {
                    series: VitalSeries::Systolic,
                    value: "142 mmHg".into(),
                    when: Some("20 Jun 2025".into())
                },
                Latest {
                    series: VitalSeries::Diastolic,
                    value: "90 mmHg".into(),
                    when: Some("20 Jun 2025".into())
                },
            ]
        );
        assert_eq!((chart.plotted, chart.not_plotted), (6, 2));
        let svg = chart.svg.as_ref().unwrap();
        let doc = roxmltree::Document::parse(svg).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let lines: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .filter_map(|n| n.attribute("stroke"))
            .filter(|stroke| ["#0072B2", "#D55E00"].contains(stroke))
            .collect();
        assert_eq!(lines, ["#0072B2", "#D55E00"], "one line per series");
        assert!(svg.contains("2025"), "dated axis");
    }

    #[test]
    fn a_single_value_or_none_dated_still_gives_its_latest() {
        let single = trend_charts(&dated(&json!({"code": loinc("8867-4", "Heart rate"),
            "effectiveDateTime": "2025-01-01", "valueQuantity": {"value": 61, "unit": "/min"}})));
        assert_eq!(single[0].trend, Trend::HeartRate);
        assert!(single[0].svg.is_ok());
        let undated = trend_charts(&dated(&json!({"code": loinc("39156-5", "BMI"),
            "valueQuantity": {"value": 22.5, "unit": "kg/m2"}})));
        assert_eq!(undated[0].latest[0].value, "22.5 kg/m²");
        assert_eq!(undated[0].svg, Err("no dated value to draw".into()));
        assert!(trend_charts(&[]).is_empty());
    }

    #[test]
    fn extreme_values_draw_without_panicking() {
        // serde_json writes an exponent with its sign (`1e308` as
        // `1e+308`): the same number, at the same precision.
        for (value, shown) in [
            ("1e308", "1e+308"),
            ("-1E308", "-1e+308"),
            ("0", "0"),
            ("1e-300", "1e-300"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("0.1000", "0.1000"),
        ] {
            let observation: Value = serde_json::from_str(&format!(
                r#"{{"code":{{"coding":[{{"system":"http://loinc.org","code":"29463-7"}}]}},
                   "effectiveDateTime":"2025-01-01","valueQuantity":{{"value":{value},"unit":"kg"}}}}"#
            ))
            .unwrap();
            let mut all = dated(&observation);
            let mut second = all[0].clone();
            second.effective = Some("0001-01-01".into());
            all.push(second);
            let charts = trend_charts(&all);
            assert_eq!(charts[0].latest[0].value, format!("{shown} kg"));
        }
    }

    #[test]
    fn long_series_draw_only_the_latest_points() {
        let all: Vec<DatedMeasurement> = (0..(MAX_POINTS + 100))
            .map(|i| DatedMeasurement {
                measurement: Measurement {
                    series: VitalSeries::HeartRate,
                    value: (60 + i % 30).to_string(),
                    unit: None,
                },
                effective: Some(format!("{}-01-01", 1000 + i)),
            })
            .collect();
        let chart = &trend_charts(&all)[0];
        assert_eq!((chart.plotted, chart.not_plotted), (MAX_POINTS, 100));
        assert_eq!(
            chart.latest[0].when.as_deref(),
            Some(format!("1 Jan {}", 1000 + MAX_POINTS + 99).as_str())
        );
    }
}
