//! iCalendar (RFC 5545) for `export --format ics`: the pair's check-ins as calendar events.
//!
//! Written by hand because it is small: a few properties, the escaping of text values
//! (backslash, semicolon, comma and line breaks) and the folding of lines longer than 75 octets,
//! which must never cut a UTF-8 character in two. Lines end in CRLF as the format requires.
//! Control characters other than line breaks and tabs are not allowed in text values and are
//! left out, which also keeps a calendar printed on a terminal harmless.

use tandem_core::jiff::Timestamp;

/// The longest a line may be, in octets, before the line break.
const FOLD_AT: usize = 75;

/// One event of the calendar.
pub struct Event<'a> {
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: &'a str,
    pub description: &'a str,
    pub url: Option<&'a str>,
}

/// A text value escaped: `\` `;` `,` and line breaks as the format spells them.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value: not escaped as text, but without control characters or spaces, which a URI
/// cannot hold.
fn clean_uri(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect()
}

/// One content line folded: after every 75 octets (never inside a character) a CRLF and a
/// space; the line ends in CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / FOLD_AT * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > FOLD_AT {
            out.push_str("\r\n ");
            // The space that begins a continuation line counts towards its length.
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

/// An instant in the form the format calls UTC date-time: `20261201T100000Z`.
fn utc(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The whole calendar, stamped `now`.
pub fn calendar(events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    let mut put = |name: &str, value: &str| out.push_str(&fold(&format!("{name}:{value}")));
    put("BEGIN", "VCALENDAR");
    put("VERSION", "2.0");
    put("PRODID", "-//tandem//tandem//EN");
    put("CALSCALE", "GREGORIAN");
    for e in events {
        put("BEGIN", "VEVENT");
        put("UID", &escape_text(&e.uid));
        put("DTSTAMP", &utc(now));
        put("DTSTART", &utc(e.start));
        put("DTEND", &utc(e.end));
        put("SUMMARY", &escape_text(e.summary));
        if !e.description.trim().is_empty() {
            put("DESCRIPTION", &escape_text(e.description));
        }
        if let Some(url) = e.url {
            put("URL", &clean_uri(url));
            put("LOCATION", &escape_text(url));
        }
        put("END", "VEVENT");
    }
    put("END", "VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_as_rfc_5545_asks() {
        assert_eq!(
            escape_text("Plan; review, then\nnext\\steps"),
            "Plan\\; review\\, then\\nnext\\\\steps"
        );
        assert_eq!(escape_text("a\r\nb\u{1b}c\td"), "a\\nbc\td");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_cutting_a_character() {
        let short = fold("SUMMARY:hi");
        assert_eq!(short, "SUMMARY:hi\r\n");
        let long = format!("DESCRIPTION:{}", "é".repeat(100));
        let folded = fold(&long);
        for piece in folded.split("\r\n").filter(|p| !p.is_empty()) {
            assert!(piece.len() <= 75, "{} octets: {piece}", piece.len());
        }
        // Unfolding (removing each CRLF and the space after it) gives the line back.
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, long);
        assert!(folded.matches("\r\n ").count() >= 2);
    }

    #[test]
    fn a_calendar_holds_one_event_per_check_in() {
        let start: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let end: Timestamp = "2026-12-01T11:00:00Z".parse().unwrap();
        let cal = calendar(
            &[Event {
                uid: "abc@tandem".into(),
                start,
                end,
                summary: "Check-in: Ana & Ben",
                description: "Goals, then actions",
                url: Some("https://meet.example/x"),
            }],
            start,
        );
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(cal.contains("\r\nUID:abc@tandem\r\n"));
        assert!(cal.contains("\r\nDTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\n"));
        assert!(cal.contains("\r\nDESCRIPTION:Goals\\, then actions\r\n"));
        assert!(cal.contains("\r\nURL:https://meet.example/x\r\n"));
        assert!(cal.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    }
}
