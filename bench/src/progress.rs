//! Progress on the terminal: one bar per measured run, and notes logged
//! above the bars. Off a terminal (CI, a log file) indicatif draws nothing
//! and the notes are plain log lines.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Default)]
pub struct Progress {
    bars: MultiProgress,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    /// A bar for `len` operations, labelled `label`.
    pub fn bar(&self, len: usize, label: String) -> ProgressBar {
        let style =
            ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .map(|style| style.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = self
            .bars
            .add(ProgressBar::new(u64::try_from(len).unwrap_or(u64::MAX)));
        bar.set_style(style);
        bar.set_prefix(label);
        bar
    }

    /// A log line that does not tear the bars.
    pub fn note(&self, message: String) {
        self.bars.suspend(|| tracing::info!("{message}"));
    }
}
