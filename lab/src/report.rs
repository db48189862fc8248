//! A results report described once and written twice: as Markdown (the
//! summary a run prints and keeps) and as an HTML page that shows the
//! charts beside the tables. Every string that goes into the HTML is
//! escaped; the page is also well-formed XML, so tests can read it back.

use std::fmt::Write as _;

/// `text` safe in HTML content and in a quoted attribute value: the
/// clinician's view's escaping, one rule for every page.
pub use ehrx_client::ehr::render::escape as escape_html;

/// The little inline Markdown the summaries use, as HTML: `code` and
/// **bold**; everything else is escaped text. An unpaired marker stays as
/// it is.
pub fn inline_html(text: &str) -> String {
    marked(text, "`", "code", &|outside| {
        marked(outside, "**", "strong", &|plain| escape_html(plain))
    })
}

/// `text` with the spans between pairs of `marker` escaped inside `<tag>`,
/// and the rest (a last unpaired marker included, as text) through
/// `outside`.
fn marked(text: &str, marker: &str, tag: &str, outside: &dyn Fn(&str) -> String) -> String {
    let parts: Vec<&str> = text.split(marker).collect();
    let paired = paired_spans(parts.len());
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i >= paired {
            out.push_str(marker);
            out.push_str(&outside(part));
        } else if i % 2 == 1 {
            let _ = write!(out, "<{tag}>{}</{tag}>", escape_html(part));
        } else {
            out.push_str(&outside(part));
        }
    }
    out
}

/// Of `count` spans split at a marker, how many lie between paired
/// markers or outside them: an even count means the last marker is
/// unpaired, and the last span is text after a literal marker.
fn paired_spans(count: usize) -> usize {
    if count.is_multiple_of(2) {
        count - 1
    } else {
        count
    }
}

/// A table of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str], rows: Vec<Vec<String>>) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            rows,
        }
    }

    /// A Markdown table; `|` and line breaks in cells are escaped.
    pub fn markdown(&self) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let cell = |text: &String| text.replace('|', "\\|").replace(['\r', '\n'], " ");
        let mut out = line(self.headers.iter().map(cell).collect());
        out.push_str(&line(
            self.headers.iter().map(|_| "---".to_string()).collect(),
        ));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(cell).collect()));
        }
        out
    }

    /// An HTML table, every cell escaped.
    pub fn html(&self) -> String {
        let mut out = String::from("<table>\n<thead><tr>");
        for header in &self.headers {
            let _ = write!(out, "<th>{}</th>", escape_html(header));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{}</td>", escape_html(cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
    }
}

/// A chart file beside the page, and what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// Relative to the page, e.g. `exchange-cdf.svg`.
    pub file: String,
    pub caption: String,
}

/// A part of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph of inline Markdown (see [`inline_html`]).
    Paragraph(String),
    /// A bulleted list; each item inline Markdown.
    List(Vec<String>),
    Table(Table),
    Section(Section),
}

/// A headed section: its text and tables, and the charts shown beside
/// them on the page (Markdown leaves the charts out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
    pub figures: Vec<Figure>,
}

impl Section {
    pub fn new(heading: impl Into<String>, blocks: Vec<Block>) -> Self {
        Self {
            heading: heading.into(),
            blocks,
            figures: Vec::new(),
        }
    }
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Document {
    /// The report as Markdown, without its charts.
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for block in &self.blocks {
            block_markdown(block, &mut out);
        }
        let kept = out.trim_end().len();
        out.truncate(kept);
        out.push('\n');
        out
    }

    /// The report as a standalone HTML page; each section's charts are
    /// `<img>`s of their files, beside its tables.
    pub fn html(&self) -> String {
        let title = escape_html(&self.title);
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        );
        for block in &self.blocks {
            block_html(block, &mut out);
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; }
td:nth-child(2), th:nth-child(2) { text-align: left; }
code { background: #f3f3f3; padding: 0 0.2rem; word-break: break-all; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.tables { flex: 0 1 auto; max-width: 100%; overflow-x: auto; }
.charts { flex: 1 1 30rem; display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 1rem; }
figure { margin: 0; }
figure img { width: 100%; max-width: 820px; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85rem; color: #555; }
";

fn block_markdown(block: &Block, out: &mut String) {
    match block {
        Block::Paragraph(text) => {
            let _ = write!(out, "{text}\n\n");
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {item}");
            }
            out.push('\n');
        }
        Block::Table(table) => {
            out.push_str(&table.markdown());
            out.push('\n');
        }
        Block::Section(section) => {
            let _ = write!(out, "## {}\n\n", section.heading);
            for block in &section.blocks {
                block_markdown(block, out);
            }
        }
    }
}

fn block_html(block: &Block, out: &mut String) {
    match block {
        Block::Paragraph(text) => {
            let _ = writeln!(out, "<p>{}</p>", inline_html(text));
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", inline_html(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Table(table) => out.push_str(&table.html()),
        Block::Section(section) => {
            let _ = writeln!(out, "<section>\n<h2>{}</h2>", inline_html(&section.heading));
            let side_by_side = !section.figures.is_empty();
            if side_by_side {
                out.push_str("<div class=\"side-by-side\">\n<div class=\"tables\">\n");
            }
            for block in &section.blocks {
                block_html(block, out);
            }
            if side_by_side {
                out.push_str("</div>\n<div class=\"charts\">\n");
                for figure in &section.figures {
                    let _ = writeln!(
                        out,
                        "<figure><img src=\"{file}\" alt=\"{caption}\"/><figcaption>{caption}</figcaption></figure>",
                        file = escape_html(&figure.file),
                        caption = escape_html(&figure.caption),
                    );
                }
                out.push_str("</div>\n</div>\n");
            }
            out.push_str("</section>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Document {
        let mut section = Section::new(
            "Throughput <on> network I",
            vec![
                Block::Table(Table::new(
                    &["in flight", "kind"],
                    vec![vec!["1".into(), "<script>alert(1)</script> & x|y".into()]],
                )),
                Block::Paragraph("**Failed:** `a<b>` & more".into()),
            ],
        );
        section.figures.push(Figure {
            file: "throughput.svg".into(),
            caption: "Throughput \"against\" load".into(),
        });
        Document {
            title: "Bench & co".into(),
            blocks: vec![
                Block::Paragraph("Parameters: `{\"quick\":true}`".into()),
                Block::Section(section),
                Block::Section(Section::new(
                    "Reading",
                    vec![Block::List(vec!["one".into(), "two `x`".into()])],
                )),
            ],
        }
    }

    #[test]
    fn html_escapes_every_string() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let html = document().html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; x|y"));
        assert!(html.contains("<title>Bench &amp; co</title>"));
        assert!(html.contains("<h2>Throughput &lt;on&gt; network I</h2>"));
        assert!(html.contains("alt=\"Throughput &quot;against&quot; load\""));
    }

    #[test]
    fn inline_markdown_becomes_code_and_bold_and_nothing_else() {
        assert_eq!(
            inline_html("**The x benchmark failed:** `<b>` & y"),
            "<strong>The x benchmark failed:</strong> <code>&lt;b&gt;</code> &amp; y"
        );
        // Inside code, stars stay stars.
        assert_eq!(inline_html("`**a**`"), "<code>**a**</code>");
        // Unpaired markers are text.
        assert_eq!(inline_html("a ` b"), "a ` b");
        assert_eq!(inline_html("2 ** 3 <"), "2 ** 3 &lt;");
        assert_eq!(inline_html("`a` and ` b"), "<code>a</code> and ` b");
    }

    #[test]
    fn the_page_is_well_formed_and_shows_charts_beside_the_tables() {
        let html = document().html();
        let page = match roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..roxmltree::ParsingOptions::default()
            },
        ) {
            Ok(page) => page,
            Err(error) => panic!("not well-formed: {error}\n{html}"),
        };
        let sections: Vec<_> = page
            .descendants()
            .filter(|n| n.has_tag_name("section"))
            .collect();
        assert_eq!(sections.len(), 2);
        // The first: its table and its chart side by side.
        let side = sections[0]
            .children()
            .find(|n| n.attribute("class") == Some("side-by-side"))
            .unwrap();
        let columns: Vec<_> = side.children().filter(|n| n.is_element()).collect();
        assert_eq!(columns[0].attribute("class"), Some("tables"));
        assert!(columns[0].descendants().any(|n| n.has_tag_name("table")));
        assert_eq!(columns[1].attribute("class"), Some("charts"));
        let image = columns[1]
            .descendants()
            .find(|n| n.has_tag_name("img"))
            .unwrap();
        assert_eq!(image.attribute("src"), Some("throughput.svg"));
        assert_eq!(image.attribute("alt"), Some("Throughput \"against\" load"));
        let cells: Vec<_> = columns[0]
            .descendants()
            .filter(|n| n.has_tag_name("td"))
            .map(|n| n.text().unwrap_or_default().to_string())
            .collect();
        assert_eq!(cells, ["1", "<script>alert(1)</script> & x|y"]);
        // The second: no charts, no columns.
        assert!(
            !sections[1]
                .descendants()
                .any(|n| n.attribute("class") == Some("side-by-side"))
        );
        assert_eq!(
            sections[1]
                .descendants()
                .filter(|n| n.has_tag_name("li"))
                .count(),
            2
        );
    }

    #[test]
    fn markdown_keeps_tables_and_text_and_leaves_charts_out() {
        let markdown = document().markdown();
        assert_eq!(
            markdown,
            "# Bench & co\n\n\
             Parameters: `{\"quick\":true}`\n\n\
             ## Throughput <on> network I\n\n\
             | in flight | kind |\n| --- | --- |\n| 1 | <script>alert(1)</script> & x\\|y |\n\n\
             **Failed:** `a<b>` & more\n\n\
             ## Reading\n\n\
             - one\n- two `x`\n"
        );
    }
}
