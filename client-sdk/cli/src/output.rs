//! What a command prints on stdout: JSON with `--json` (for scripts), text
//! otherwise, from the same value, so the two never disagree. Progress and
//! logs go to stderr and never mix with either.

use std::io::Write as _;

use anyhow::Context as _;
use serde::Serialize;

/// Where a command's result goes, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// JSON if `json`, else text.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether the result is printed as JSON (progress bars then stay hidden).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as pretty JSON, or the text `text` makes of it.
    pub fn emit<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        let mut printed = if self.json {
            let mut json =
                serde_json::to_string_pretty(value).context("writing the result as JSON")?;
            json.push('\n');
            json
        } else {
            text()
        };
        if !printed.is_empty() && !printed.ends_with('\n') {
            printed.push('\n');
        }
        std::io::stdout()
            .lock()
            .write_all(printed.as_bytes())
            .context("writing to stdout")
    }

    /// Prints a list as pretty JSON, or as the text `text` makes of it;
    /// `none` when it is empty.
    pub fn emit_list<T: Serialize>(
        &self,
        items: &[T],
        none: &str,
        text: impl FnOnce(&[T]) -> String,
    ) -> anyhow::Result<()> {
        self.emit(&items, || list_text(items, none, text))
    }
}

/// Rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let mut line = padded.join("  ").trim_end().to_string();
        line.push('\n');
        line
    };
    let mut text = line(&mut header.iter().copied());
    for row in rows {
        text.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    text
}

/// The text `text` makes of `items`, or `none` when there are none.
pub fn list_text<T>(items: &[T], none: &str, text: impl FnOnce(&[T]) -> String) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        text(items)
    }
}

/// A [`table`] of `items`, one row each as `row` writes it.
pub fn table_of<T>(
    header: &[&str],
    items: impl IntoIterator<Item = T>,
    row: impl FnMut(T) -> Vec<String>,
) -> String {
    let rows: Vec<Vec<String>> = items.into_iter().map(row).collect();
    table(header, &rows)
}

/// A Unix time in milliseconds as `YYYY-MM-DD hh:mm:ss` UTC (the raw
/// number when it is beyond the calendar's range, year 9999).
pub fn utc_time(at_ms: u64) -> String {
    let formatted = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        });
    formatted.unwrap_or_else(|| format!("{at_ms} ms after 1970-01-01"))
}

/// An enum value's JSON name (`failed`, `not_found`), as `--json` prints it.
pub fn json_name(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let text = table(
            &["ID", "STATE"],
            &[
                vec!["a".into(), "fulfilled".into()],
                vec!["long-id".into(), "".into()],
            ],
        );
        assert_eq!(text, "ID       STATE\na        fulfilled\nlong-id\n");
    }

    #[test]
    fn tables_of_items_have_a_row_each() {
        let text = table_of(&["N", "SQUARE"], [1, 12], |n| {
            vec![n.to_string(), (n * n).to_string()]
        });
        assert_eq!(text, "N   SQUARE\n1   1\n12  144\n");
        assert_eq!(table_of(&["N"], Vec::<u8>::new(), |_| Vec::new()), "N\n");
    }

    #[test]
    fn empty_lists_say_so() {
        let count = |items: &[u8]| format!("{} items", items.len());
        assert_eq!(list_text(&[], "none", count), "none");
        assert_eq!(list_text(&[7, 8], "none", count), "2 items");
    }

    #[test]
    fn unix_milliseconds_print_as_utc() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc_time(1_700_000_000_123), "2023-11-14 22:13:20");
        assert_eq!(utc_time(4_107_542_399_000), "2100-02-28 23:59:59");
        assert_eq!(
            utc_time(u64::MAX),
            format!("{} ms after 1970-01-01", u64::MAX)
        );
    }
}
