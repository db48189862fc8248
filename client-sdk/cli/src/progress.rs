//! Progress on stderr for long work: a bar over records being uploaded, a
//! spinner while an outcome is awaited. Hidden with `--json` (a script is
//! reading) and, by indicatif, when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;

/// A bar of `length` steps counting `unit`s (e.g. "records").
pub fn bar(out: &Output, length: u64, unit: &str) -> ProgressBar {
    if out.is_json() {
        return ProgressBar::hidden();
    }
    let template =
        format!("{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}}");
    let bar = ProgressBar::new(length);
    // The template is built above from fixed parts; should indicatif still
    // refuse it, the default style is as good.
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// A spinner saying what is awaited.
pub fn spinner(out: &Output, message: String) -> ProgressBar {
    if out.is_json() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {msg}") {
        spinner.set_style(style);
    }
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
