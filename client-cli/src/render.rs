//! Text output helpers: colour only on a terminal, progress bars, aligned columns.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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
    fn colour_is_off_when_not_asked_for() {
        assert_eq!(Paint { on: false }.red("late"), "late");
        assert_eq!(Paint { on: true }.red("late"), "\x1b[31mlate\x1b[0m");
    }
}
