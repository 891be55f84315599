//! Text output helpers: text from documents made safe to print, colour only on a terminal,
//! progress bars, aligned columns.
//!
//! Read this before printing anything a document holds. Everything in a workspace was typed by
//! someone, possibly with another client, and a terminal obeys the control characters it is
//! sent: a title holding `ESC ] 0 ; … BEL` would rename the reader's terminal window, and a
//! newline would split a list row in two. So every printer shows document text through
//! [`shown`] (a whole read view) or [`line`] (one field on one row; [`fit`] uses it too), which
//! show control characters escaped (`\e`, `\u{7}`) and fold line breaks where a row is meant.
//! `--json` output is not a terminal's business and keeps the strings as stored.

use serde::de::DeserializeOwned;
use serde::Serialize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The fields of the read views that hold prose, which keeps its line breaks when shown; every
/// other string is a short field, shown on one line.
const PROSE: [&str; 6] = ["description", "body", "agenda", "notes", "comment", "note"];

/// Whether a terminal could take `c` as an instruction rather than something to show: C0
/// controls, DEL, C1 controls, and the marks that reorder text direction (which can make a line
/// read differently from what it holds).
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character escaped, keeping line breaks when `keep_lines` is set and
/// folding each into ` ↵ ` otherwise; a tab is kept in prose and is a space on one line.
fn escape(s: &str, keep_lines: bool) -> String {
    if !s.chars().any(is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' if keep_lines => out.push('\n'),
            '\t' if keep_lines => out.push('\t'),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => out.push_str(" ↵ "),
            '\t' => out.push(' '),
            '\u{1b}' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A string from a document, shown on one row: control characters escaped, line breaks folded.
pub fn line(s: &str) -> String {
    escape(s, false)
}

/// A read view (an item, a list of them, a snapshot) with every string in it made safe to print:
/// prose keeping its line breaks, every other string through [`line`]. For text output only;
/// `--json` prints the view as it was read.
pub fn shown<T: Serialize + DeserializeOwned>(view: T) -> T {
    fn walk(value: &mut serde_json::Value, keep_lines: bool) {
        match value {
            serde_json::Value::String(s) => *s = escape(s, keep_lines),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, false)),
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    walk(v, PROSE.contains(&key.as_str()));
                }
            }
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&view) else {
        return view;
    };
    walk(&mut value, false);
    serde_json::from_value(value).unwrap_or(view)
}

/// Colours that switch themselves off when output is not a terminal.
#[derive(Clone, Copy)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
}

/// A fixed-width progress bar such as `[####------] 2/5`.
pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    if total == 0 {
        return format!("[{}] no milestones", " ".repeat(width));
    }
    let filled = (done * width + total / 2) / total;
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled.min(width)),
        "-".repeat(width - filled.min(width))
    )
}

/// Pad or cut `s` to exactly `width` terminal columns, for aligned columns.
///
/// Columns are counted in display width, not characters: a CJK character or an emoji takes two
/// columns, so counting characters would push every later column of that row to the right. A
/// wide character that would straddle the edge of a cut is left out and its column padded.
pub fn fit(s: &str, width: usize) -> String {
    // A column is one row: whatever reaches it is escaped and folded (a no-op on text that
    // already was).
    let s = line(s);
    let s = s.as_str();
    let shown = s.width();
    if shown <= width {
        return format!("{s}{}", " ".repeat(width - shown));
    }
    let room = width.saturating_sub(1);
    let mut cut = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        cut.push(c);
        used += w;
    }
    format!("{cut}…{}", " ".repeat(room - used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bars_round_to_the_nearest_cell() {
        assert_eq!(progress_bar(0, 4, 8), "[--------] 0/4");
        assert_eq!(progress_bar(1, 3, 6), "[##----] 1/3");
        assert_eq!(progress_bar(3, 3, 6), "[######] 3/3");
    }

    #[test]
    fn columns_are_padded_and_cut() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdefgh", 5), "abcd…");
        // The coffee cup is two columns wide, so "café☕" needs six.
        assert_eq!(fit("café☕", 6), "café☕");
        assert_eq!(fit("café☕", 5), "café…");
    }

    #[test]
    fn columns_line_up_with_wide_characters_and_emoji() {
        let titles = [
            "Learn Rust",
            "学习 Rust 编程",
            "Ship it 🚀",
            "日本語のタイトルはとても長い",
        ];
        let rows: Vec<String> = titles
            .iter()
            .map(|t| format!("{}|{}|", fit(t, 12), fit("Ana", 5)))
            .collect();
        for row in &rows {
            // Every separator sits in the same terminal column on every row.
            let columns: Vec<usize> = row
                .match_indices('|')
                .map(|(at, _)| row[..at].width())
                .collect();
            assert_eq!(columns, [12, 18], "misaligned row: {row}");
        }
        // A wide character that would straddle the cut is dropped and its column padded.
        assert_eq!(fit("日本語のタイトル", 6), "日本… ");
        assert_eq!(fit("学习 Rust 编程", 12), "学习 Rust … ");
    }

    #[test]
    fn control_characters_are_escaped_and_line_breaks_folded_on_one_row() {
        let title = "Own \u{1b}]0;pwned\u{7}title\nsecond line";
        assert_eq!(line(title), "Own \\e]0;pwned\\u{7}title ↵ second line");
        assert_eq!(
            escape("a\r\nb\u{9b}c\u{7f}\td\u{202e}", true),
            "a\nb\\u{9b}c\\u{7f}\td\\u{202e}"
        );
        assert_eq!(line("café ☕ 学习"), "café ☕ 学习");
    }

    #[test]
    fn a_whole_view_is_escaped_with_prose_keeping_its_lines() {
        let view = serde_json::json!({
            "title": "a\nb\u{1b}",
            "body": "one\ntwo\u{7}",
            "tags": ["x\ny"],
            "milestones": [{"title": "m\u{1b}", "done": true}],
        });
        assert_eq!(
            shown(view),
            serde_json::json!({
                "title": "a ↵ b\\e",
                "body": "one\ntwo\\u{7}",
                "tags": ["x ↵ y"],
                "milestones": [{"title": "m\\e", "done": true}],
            })
        );
    }

    #[test]
    fn colour_is_off_when_not_asked_for() {
        assert_eq!(Paint { on: false }.red("late"), "late");
        assert_eq!(Paint { on: true }.red("late"), "\x1b[31mlate\x1b[0m");
    }
}
