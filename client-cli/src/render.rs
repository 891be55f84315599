//! Text output helpers: colour only on a terminal, progress bars, short ids.

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

/// Pad or cut `s` to exactly `width` characters, for aligned columns.
pub fn fit(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count > width {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        format!("{s}{}", " ".repeat(width - count))
    }
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
        assert_eq!(fit("café☕", 5), "café☕");
    }

    #[test]
    fn colour_is_off_when_not_asked_for() {
        assert_eq!(Paint { on: false }.red("late"), "late");
        assert_eq!(Paint { on: true }.red("late"), "\x1b[31mlate\x1b[0m");
    }
}
