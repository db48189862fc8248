//! FHIR dates and times, read as FHIR writes them (`2025`, `2025-11`,
//! `2025-11-02`, `2025-11-02T09:30:00+01:00`, instants with fractions) and
//! shown as a reader expects (`2025`, `Nov 2025`, `2 Nov 2025`,
//! `2 Nov 2025, 09:30 (UTC+01:00)`). Text that is not a FHIR date is shown
//! as received, never guessed at.

use std::cmp::Ordering;

use time::{
    Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset,
    format_description::{BorrowedFormatItem, well_known::Rfc3339},
    macros::format_description,
};

/// A FHIR `date`, `dateTime` or `instant`, at the precision it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirDate {
    /// A year only.
    Year(i32),
    /// A year and month.
    YearMonth(i32, Month),
    /// A calendar date.
    Date(Date),
    /// A date and time with its offset from UTC.
    DateTime(OffsetDateTime),
    /// A date and time without an offset (not valid R4, but seen in
    /// exports): shown without a zone and ordered as if UTC.
    Local(PrimitiveDateTime),
}

const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
const LOCAL: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
const SHOWN_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[day padding:none] [month repr:short] [year]");
const SHOWN_TIME: &[BorrowedFormatItem<'static>] = format_description!("[hour]:[minute]");
const SHOWN_SECONDS: &[BorrowedFormatItem<'static>] =
    format_description!("[hour]:[minute]:[second]");
const SHOWN_MONTH: &[BorrowedFormatItem<'static>] =
    format_description!("[month repr:short] [year]");

impl FhirDate {
    /// Reads a FHIR date, dateTime or instant; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        // The longest FHIR instant is 35 characters; longer is not a date.
        if text.is_empty() || text.len() > 40 || !text.is_ascii() {
            return None;
        }
        match text.len() {
            4 => year(text).map(Self::Year),
            7 => {
                let (y, m) = text.split_once('-')?;
                let month: u8 = digits(m)?;
                Some(Self::YearMonth(year(y)?, Month::try_from(month).ok()?))
            }
            10 => Date::parse(text, DATE).ok().map(Self::Date),
            _ => OffsetDateTime::parse(text, &Rfc3339)
                .ok()
                .map(Self::DateTime)
                .or_else(|| PrimitiveDateTime::parse(text, LOCAL).ok().map(Self::Local)),
        }
    }

    /// The first instant it covers, in UTC, for ordering and for charts.
    pub fn start(&self) -> OffsetDateTime {
        let date = |y: i32, m: Month, d: u8| Date::from_calendar_date(y, m, d).unwrap_or(Date::MIN);
        match *self {
            Self::Year(y) => date(y, Month::January, 1).midnight().assume_utc(),
            Self::YearMonth(y, m) => date(y, m, 1).midnight().assume_utc(),
            Self::Date(d) => d.midnight().assume_utc(),
            Self::DateTime(at) => at.to_offset(UtcOffset::UTC),
            Self::Local(at) => at.assume_utc(),
        }
    }

    /// Days since 1970-01-01 (fractional), a chart's x position.
    pub fn unix_days(&self) -> f64 {
        let start = self.start();
        // Exact enough for a chart position: whole seconds as f64.
        start.unix_timestamp() as f64 / 86_400.0
    }

    /// The date as a reader expects it.
    pub fn readable(&self) -> String {
        let shown = |d: &Date, f| d.format(f).unwrap_or_else(|_| d.to_string());
        match self {
            Self::Year(y) => y.to_string(),
            Self::YearMonth(y, m) => Date::from_calendar_date(*y, *m, 1)
                .map(|d| shown(&d, SHOWN_MONTH))
                .unwrap_or_else(|_| format!("{m} {y}")),
            Self::Date(d) => shown(d, SHOWN_DATE),
            Self::DateTime(at) => {
                let time = time_of_day(at.time());
                let zone = if at.offset().is_utc() {
                    "UTC".to_string()
                } else {
                    let (h, m, _) = at.offset().as_hms();
                    let sign = if at.offset().is_negative() { '-' } else { '+' };
                    format!("(UTC{sign}{:02}:{:02})", h.unsigned_abs(), m.unsigned_abs())
                };
                format!("{}, {time} {zone}", shown(&at.date(), SHOWN_DATE))
            }
            Self::Local(at) => format!(
                "{}, {}",
                shown(&at.date(), SHOWN_DATE),
                time_of_day(at.time())
            ),
        }
    }
}

fn time_of_day(time: time::Time) -> String {
    let format = if time.second() == 0 {
        SHOWN_TIME
    } else {
        SHOWN_SECONDS
    };
    time.format(format).unwrap_or_else(|_| time.to_string())
}

fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

fn year(text: &str) -> Option<i32> {
    (text.len() == 4).then(|| digits(text)).flatten()
}

/// A FHIR date as a reader expects it, or the text as received.
pub fn readable(text: &str) -> String {
    FhirDate::parse(text).map_or_else(|| text.to_string(), |date| date.readable())
}

/// Now, in Unix milliseconds (a reply's read time).
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix milliseconds as `6 Dec 2026, 10:14:49 UTC`.
pub fn readable_unix_ms(at_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .map(|at| FhirDate::DateTime(at).readable())
        .unwrap_or_else(|_| format!("{at_ms} ms after 1970"))
}

/// Unix milliseconds as an RFC 3339 UTC instant (FHIR `instant`), whole
/// seconds.
pub fn rfc3339_unix_ms(at_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// Most recent first; dates before text that is not a date, and entries
/// without one last, each group keeping its order (the sort is stable).
pub fn newest_first(a: Option<&str>, b: Option<&str>) -> Ordering {
    fn key(text: Option<&str>) -> Option<(Option<OffsetDateTime>, &str)> {
        text.map(|t| (FhirDate::parse(t).map(|d| d.start()), t))
    }
    match (key(a), key(b)) {
        (Some((Some(a), _)), Some((Some(b), _))) => b.cmp(&a),
        (Some((Some(_), _)), Some((None, _))) => Ordering::Less,
        (Some((None, _)), Some((Some(_), _))) => Ordering::Greater,
        (Some((None, a)), Some((None, b))) => b.cmp(a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fhir_precision_reads_and_shows() {
        for (text, shown) in [
            ("2025", "2025"),
            ("2025-11", "Nov 2025"),
            ("2025-11-02", "2 Nov 2025"),
            ("2025-05-01T09:00:00Z", "1 May 2025, 09:00 UTC"),
            (
                "2025-05-01T09:00:30.125+02:00",
                "1 May 2025, 09:00:30 (UTC+02:00)",
            ),
            ("2025-05-01T21:15:00-05:30", "1 May 2025, 21:15 (UTC-05:30)"),
            ("2025-05-01T09:00:00", "1 May 2025, 09:00"),
        ] {
            assert_eq!(readable(text), shown, "{text}");
        }
    }

    #[test]
    fn text_that_is_not_a_date_is_shown_as_received() {
        for text in [
            "",
            "yesterday",
            "2025-13",
            "2025-02-30",
            "20251102",
            "2025-11-02T25:00:00Z",
            "<script>",
            "２０２５",
            &"9".repeat(100_000),
        ] {
            assert_eq!(FhirDate::parse(text), None, "{text:.20}");
            assert_eq!(readable(text), text);
        }
    }

    #[test]
    fn instants_order_across_offsets_and_precisions() {
        let start = |t: &str| FhirDate::parse(t).unwrap().start();
        assert!(start("2025-05-01T09:00:00+02:00") < start("2025-05-01T08:00:00Z"));
        assert!(start("2025") < start("2025-01-02"));
        let mut dates = vec![
            None,
            Some("not a date"),
            Some("2024-01-10"),
            Some("2025-05-01T08:00:00Z"),
            Some("2025-05-01T09:00:00+02:00"),
        ];
        dates.sort_by(|a, b| newest_first(*a, *b));
        assert_eq!(
            dates,
            [
                Some("2025-05-01T08:00:00Z"),
                Some("2025-05-01T09:00:00+02:00"),
                Some("2024-01-10"),
                Some("not a date"),
                None
            ]
        );
        assert_eq!(FhirDate::parse("1970-01-02").unwrap().unix_days(), 1.0);
    }

    #[test]
    fn unix_milliseconds_show_in_utc() {
        assert_eq!(readable_unix_ms(0), "1 Jan 1970, 00:00 UTC");
        assert_eq!(
            readable_unix_ms(1_796_552_089_000),
            "6 Dec 2026, 10:14:49 UTC"
        );
        assert_eq!(
            readable_unix_ms(i64::MAX),
            format!("{} ms after 1970", i64::MAX)
        );
        assert_eq!(rfc3339_unix_ms(1_796_552_089_999), "2026-12-06T10:14:49Z");
    }
}
