//! `tandem program`: a coordinator's view of every pair in a program, from a relay.
//!
//! The relay's operator gives the coordinator a program token (`tandem-server token create
//! --role program`); this asks the relay for `GET /v1/program` (docs/program.md) and shows it as
//! a table with the pairs at risk first and their reasons in words, as CSV for a spreadsheet, or
//! as the relay's JSON. It needs no home: a coordinator is not part of any pair, and the report
//! holds numbers, the pairs' titles and their people's names, never what they wrote.

use crate::context::Context;
use crate::net;
use crate::render::{fit, line};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use tandem_core::jiff::Timestamp;
use tandem_core::program::{PairSummary, ProgramReport, RiskReason};

/// How long the relay may take to answer; a cold report of thousands of pairs loads each one.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest report read: about 1 KiB a pair, so room for tens of thousands of pairs.
const LARGEST_REPORT: u64 = 64 << 20;

#[derive(Debug, Args)]
pub struct ProgramArgs {
    /// The relay's URL: ws://HOST:PORT or wss://HOST (http:// and https:// work too).
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// A program token from the relay's operator (`tandem-server token create --role program`).
    /// Set TANDEM_PROGRAM_TOKEN instead to keep it out of the shell's history.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TANDEM_PROGRAM_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
    /// Print CSV instead of a table: a header row, then one row per pair (RFC 4180).
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// A CA certificate (PEM) to trust for a wss:// relay, besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: ProgramArgs) -> Result<()> {
    let url = relay_url(&args.server);
    let (status, body) = net::get_json_up_to(
        &url,
        "/v1/program",
        Some(args.token.trim()),
        args.ca_file.as_deref(),
        TIMEOUT,
        LARGEST_REPORT,
    )?;
    let reason = body
        .get("error")
        .and_then(|e| e.as_str())
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    match status {
        200 => {}
        401 => bail!("the relay at {url} refused the token (401){reason}"),
        403 => bail!(
            "the relay at {url} refused the token (403){reason}; ask its operator for a program token"
        ),
        404 => bail!("the relay at {url} has no program report (404); it may be an older version"),
        other => bail!("the relay at {url} answered {other}{reason}"),
    }
    if ctx.json {
        return ctx.print_json(&body);
    }
    let report: ProgramReport = serde_json::from_value(body).with_context(|| {
        format!("the relay at {url} sent a program report this tandem cannot read")
    })?;
    if args.csv {
        print!("{}", csv(&report));
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The websocket URL of a relay given as either its websocket or its web address.
fn relay_url(server: &str) -> String {
    let server = server.trim().trim_end_matches('/');
    if let Some(rest) = server.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = server.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        server.to_string()
    }
}

/// Whole days from `then` to the report's instant, when both parse.
fn days_between(then: Option<&str>, now: &str) -> Option<i64> {
    let then: Timestamp = then?.parse().ok()?;
    let now: Timestamp = now.parse().ok()?;
    Some(now.duration_since(then).as_secs() / 86_400)
}

/// Why a pair is at risk, in words a coordinator acts on.
fn reasons_in_words(pair: &PairSummary, generated_at: &str) -> String {
    pair.risk_reasons
        .iter()
        .map(|reason| match reason {
            RiskReason::NoRecentCheckin => match pair.days_since_last_checkin {
                Some(days) => format!(
                    "no check-in for {days} days (rhythm {} days)",
                    pair.checkin_rhythm_days
                ),
                None => "no check-in yet".to_string(),
            },
            RiskReason::LowPulse => match pair.pulse_avg_90d {
                Some(pulse) => format!("low pulse ({pulse:.1} of 5)"),
                None => "low pulse".to_string(),
            },
            RiskReason::Inactive => {
                match days_between(pair.last_activity.as_deref(), generated_at) {
                    Some(days) => format!("no change for {days} days"),
                    None => "no change recorded".to_string(),
                }
            }
            other => other.describe().to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// An average with an arrow for its trend, or `-` when there is nothing to average.
fn score(avg: Option<f64>, trend: Option<f64>) -> String {
    let Some(avg) = avg else {
        return "-".to_string();
    };
    let arrow = match trend {
        Some(t) if t >= 0.1 => " ↑",
        Some(t) if t <= -0.1 => " ↓",
        Some(_) => " →",
        None => "",
    };
    format!("{avg:.1}{arrow}")
}

/// The report as a table: a summary line, then one row per pair, at-risk pairs first.
fn table(report: &ProgramReport) -> String {
    let pairs = &report.workspaces;
    let at_risk = pairs.iter().filter(|p| p.at_risk).count();
    let mut out = format!(
        "{} pairs, {at_risk} at risk (as of {})\n",
        pairs.len(),
        report.generated_at
    );
    if pairs.is_empty() {
        out.push_str("No workspace in this token's program is stored on the relay yet.\n");
        return out;
    }
    out.push('\n');
    out.push_str(&format!(
        "{} {} {:>9} {:>5} {:>6} {:>6} {:>6} {:>10} {:>8}  {}\n",
        fit("PAIR", 24),
        fit("PEOPLE", 20),
        "CHECK-INS",
        "LAST",
        "RATING",
        "PULSE",
        "GOALS",
        "MILESTONES",
        "ACTIONS",
        "AT RISK"
    ));
    for pair in pairs {
        let people = pair
            .participants
            .iter()
            .filter(|p| p.role != "observer")
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let goals = pair.goals.open + pair.goals.active + pair.goals.done;
        let last = pair
            .days_since_last_checkin
            .map_or("-".to_string(), |d| format!("{d}d"));
        let actions = if pair.actions.overdue > 0 {
            format!("{} ({}!)", pair.actions.open, pair.actions.overdue)
        } else {
            pair.actions.open.to_string()
        };
        let risk = if pair.at_risk {
            reasons_in_words(pair, &report.generated_at)
        } else {
            "-".to_string()
        };
        out.push_str(&format!(
            "{} {} {:>9} {:>5} {:>6} {:>6} {:>6} {:>10} {:>8}  {}\n",
            fit(&pair.title, 24),
            fit(&people, 20),
            format!("{}/90d", pair.checkins_90d),
            last,
            score(pair.rating_avg_90d, pair.rating_trend),
            score(pair.pulse_avg_90d, pair.pulse_trend),
            format!("{}/{goals}", pair.goals.done),
            format!("{}/{}", pair.milestones.done, pair.milestones.total),
            actions,
            risk
        ));
    }
    out.push_str(
        "\nCHECK-INS: held in the last 90 days; LAST: days since the last one; RATING, PULSE: \
         90-day averages of 5, with their trend; ACTIONS: open (overdue!).\n",
    );
    out
}

/// The CSV header, one column per figure of a pair.
const CSV_HEADER: [&str; 22] = [
    "id",
    "title",
    "participants",
    "goals_open",
    "goals_active",
    "goals_done",
    "goals_dropped",
    "milestones_done",
    "milestones_total",
    "checkins_90d",
    "checkin_rhythm_days",
    "days_since_last_checkin",
    "rating_avg_90d",
    "rating_trend",
    "pulse_avg_90d",
    "pulse_trend",
    "actions_open",
    "actions_overdue",
    "career_steps_12m",
    "last_activity",
    "at_risk",
    "risk_reasons",
];

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with
/// quotes doubled.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Text someone typed, for a CSV cell: on one line, and never read by a spreadsheet as a
/// formula (a leading `=`, `+`, `-` or `@` gets a `'` before it, as spreadsheets themselves do).
fn csv_text(value: &str) -> String {
    let value = line(value);
    if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The report as CSV: a header row, then one row per pair in the report's order, lines ended
/// with CRLF as RFC 4180 has them. Missing values are empty cells.
fn csv(report: &ProgramReport) -> String {
    let mut out = String::new();
    let mut row = |cells: Vec<String>| {
        let cells: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    row(CSV_HEADER.iter().map(|h| h.to_string()).collect());
    for pair in &report.workspaces {
        let people = pair
            .participants
            .iter()
            .map(|p| format!("{} ({})", p.name, p.role))
            .collect::<Vec<_>>()
            .join("; ");
        let reasons = pair
            .risk_reasons
            .iter()
            .map(|r| {
                serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
            })
            .map(Option::unwrap_or_default)
            .collect::<Vec<_>>()
            .join(";");
        row(vec![
            pair.id.clone(),
            csv_text(&pair.title),
            csv_text(&people),
            pair.goals.open.to_string(),
            pair.goals.active.to_string(),
            pair.goals.done.to_string(),
            pair.goals.dropped.to_string(),
            pair.milestones.done.to_string(),
            pair.milestones.total.to_string(),
            pair.checkins_90d.to_string(),
            pair.checkin_rhythm_days.to_string(),
            opt(pair.days_since_last_checkin),
            opt(pair.rating_avg_90d),
            opt(pair.rating_trend),
            opt(pair.pulse_avg_90d),
            opt(pair.pulse_trend),
            pair.actions.open.to_string(),
            pair.actions.overdue.to_string(),
            pair.career_steps_12m.to_string(),
            opt(pair.last_activity.clone()),
            pair.at_risk.to_string(),
            reasons,
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ProgramReport {
        serde_json::from_value(serde_json::json!({
            "generated_at": "2026-11-29T22:00:00Z",
            "months": ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"],
            "workspaces": [{
                "id": "4NMNnkMhL8jXrdJ9jamS58PAVdXu",
                "title": "=Ana, \"the\" & Ben",
                "participants": [{"name": "Ana", "role": "mentor"}, {"name": "Ben", "role": "mentee"}],
                "goals": {"open": 1, "active": 2, "done": 3, "dropped": 0},
                "milestones": {"done": 3, "total": 5},
                "checkins_90d": 4,
                "checkin_rhythm_days": 14,
                "days_since_last_checkin": 40,
                "rating_avg_90d": 4.25,
                "rating_trend": 0.5,
                "pulse_avg_90d": 2.8,
                "pulse_trend": -0.2,
                "actions": {"open": 3, "overdue": 1},
                "career_steps_12m": 1,
                "last_activity": "2026-10-28T10:00:00Z",
                "checkins_by_month": [0, 1, 2, 2, 1, 0],
                "pulse_by_month": [null, null, 4.0, 3.7, null, 2.8],
                "rating_by_month": [null, 4.0, 4.5, 4.0, null, 4.0],
                "at_risk": true,
                "risk_reasons": ["no_recent_checkin", "low_pulse", "inactive"]
            }, {
                "id": "2fpsSq6Bz5wK3RyLcUdGk2uBTRw4",
                "title": "Cleo & Dan",
                "participants": [{"name": "Cleo", "role": "mentor"}],
                "goals": {"open": 0, "active": 0, "done": 0, "dropped": 0},
                "milestones": {"done": 0, "total": 0},
                "checkins_90d": 0,
                "checkin_rhythm_days": 14,
                "days_since_last_checkin": null,
                "rating_avg_90d": null,
                "rating_trend": null,
                "pulse_avg_90d": null,
                "pulse_trend": null,
                "actions": {"open": 0, "overdue": 0},
                "career_steps_12m": 0,
                "last_activity": "2026-11-28T10:00:00Z",
                "checkins_by_month": [0, 0, 0, 0, 0, 0],
                "pulse_by_month": [null, null, null, null, null, null],
                "rating_by_month": [null, null, null, null, null, null],
                "at_risk": false,
                "risk_reasons": []
            }]
        }))
        .unwrap()
    }

    #[test]
    fn the_table_puts_reasons_in_words() {
        let table = table(&report());
        assert!(table.starts_with("2 pairs, 1 at risk (as of 2026-11-29T22:00:00Z)"));
        assert!(
            table.contains(
                "no check-in for 40 days (rhythm 14 days); low pulse (2.8 of 5); no change for 32 days"
            ),
            "{table}"
        );
        assert!(table.contains("4.2 ↑"), "{table}");
        assert!(table.contains("3 (1!)"), "{table}");
    }

    #[test]
    fn the_csv_has_a_header_and_quotes_as_rfc_4180_says() {
        let csv = csv(&report());
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{csv:?}");
        assert_eq!(lines[0].split(',').count(), CSV_HEADER.len());
        assert!(lines[0].starts_with("id,title,participants,goals_open"));
        assert!(
            lines[1].starts_with(
                "4NMNnkMhL8jXrdJ9jamS58PAVdXu,\"'=Ana, \"\"the\"\" & Ben\",Ana (mentor); Ben (mentee),1,2,3,0,3,5,4,14,40,4.25,0.5,2.8,-0.2,3,1,1,2026-10-28T10:00:00Z,true,no_recent_checkin;low_pulse;inactive"
            ),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",14,,,,,,0,0,0,"), "{}", lines[2]);
        assert_eq!(lines[3], "");
    }

    #[test]
    fn a_web_address_is_taken_for_the_relays_websocket() {
        assert_eq!(relay_url("https://relay.example/"), "wss://relay.example");
        assert_eq!(relay_url("http://127.0.0.1:8080"), "ws://127.0.0.1:8080");
        assert_eq!(relay_url("ws://127.0.0.1:8080"), "ws://127.0.0.1:8080");
    }
}
