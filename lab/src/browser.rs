//! A page rendered by a real browser: Debian's `chromium`, headless, takes
//! a screenshot and reports what the page wrote to its console (script
//! errors, refused loads such as Content-Security-Policy violations, which
//! Chromium logs as `…:CONSOLE…] "<message>", source: <url> (<line>)` with
//! `--enable-logging=stderr`). A page that loads nothing and runs no script
//! writes nothing there. `scripts/test.sh` installs `chromium` when it is
//! missing (`scripts/lib/prereqs.sh`); `CHROMIUM` names another binary.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// How long one page may take to render.
const TIMEOUT: Duration = Duration::from_secs(90);

/// What the browser did with a page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The console's messages, one line each.
    pub console: Vec<String>,
    /// Chromium's whole log, for a failure's message.
    pub log: String,
}

/// The browser: `$CHROMIUM`, else `chromium` on the PATH.
pub fn chromium() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
        .context(
            "chromium is not installed: scripts/test.sh installs Debian's chromium \
             (scripts/lib/prereqs.sh, ensure_chromium), or set CHROMIUM",
        )
}

/// The console lines in Chromium's log.
pub fn console_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect()
}

/// Renders the local file `page` at `width`×`height` pixels, writing a PNG
/// screenshot of it to `png`, with a profile of its own in `scratch`.
pub fn screenshot(
    page: &Path,
    png: &Path,
    (width, height): (u32, u32),
    scratch: &Path,
) -> anyhow::Result<Rendered> {
    let page = page
        .canonicalize()
        .with_context(|| format!("finding {}", page.display()))?;
    let profile = scratch.join("chromium-profile");
    std::fs::create_dir_all(&profile).with_context(|| format!("creating {}", profile.display()))?;
    let log_path = scratch.join("chromium.log");
    let log_file = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let binary = chromium()?;
    let mut child = Command::new(&binary)
        .args([
            "--headless",
            // Tests run as root in CI, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("chromium took more than {TIMEOUT:?} on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        bail!("chromium failed ({status}) on {}:\n{log}", page.display());
    }
    let shot = std::fs::read(png).with_context(|| format!("no screenshot at {}", png.display()))?;
    if !shot.starts_with(b"\x89PNG\r\n\x1a\n") {
        bail!("{} is not a PNG:\n{log}", png.display());
    }
    Ok(Rendered {
        console: console_lines(&log),
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_picked_out_of_the_log() {
        let log = "[1:1:1206/1.0:WARNING:media/gpu/vaapi_wrapper.cc:1] drmGetDevices2() has not found any devices\n\
                   [2:2:1206/1.5:INFO:CONSOLE:0] \"Loading the image 'http://x/y.png' violates the following Content Security Policy directive\", source: file:///p.html (0)\n\
                   [2:2:1206/1.6:INFO:CONSOLE(3)] \"Uncaught ReferenceError: f is not defined\", source: file:///p.html (3)\n\
                   3646 bytes written to file /tmp/p.png\n";
        let lines = console_lines(log);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("Content Security Policy"));
        assert!(lines[1].contains("ReferenceError"));
        assert!(console_lines("nothing here\n").is_empty());
    }
}
