//! `tandem-gen`: fill a tandem home with a large, realistic workspace, for benchmarks.
//!
//! ```text
//! tandem-gen --home DIR --items 10000 --notes-bytes 1000000 [--seed S] [--title T]
//! ```
//!
//! The home is opened exactly as the `tandem` CLI opens it (`<home>/store`, a sled database), a
//! workspace is created with a mentor (this device) and a mentee (a second device), and then
//! `--items` top-level items are added through the ordinary `Workspace` API, spread over a history
//! of `--days` days ending at `--now`:
//!
//! - goals (≈10%) with 1–5 milestones each; older goals are done, dropped or active, and their
//!   milestones are ticked off as time passes;
//! - notes (≈25%) whose bodies together hold about `--notes-bytes` bytes of English prose;
//! - check-ins (≈8%) with an agenda, notes written after the meeting and a 1–5 rating from each
//!   participant;
//! - action items (≈42%), most done, some overdue, some linked to a goal or a check-in;
//! - resources (≈15%): books, articles and docs with a URL and sometimes a note.
//!
//! Both people write: the mentee's edits are made with the mentee's own actor id, as if they had
//! arrived by sync, so `tandem log` and `tandem conflicts` see two people. Later events (a goal
//! completed, a rating, an action done) are applied when the timeline reaches them, each as its own
//! automerge change with the right timestamp. Everything the random generator decides comes from
//! `--seed`; item ids and the device's actor id are random, as they are in the CLI, so two runs
//! with one seed hold the same content under different ids.
//!
//! Every item is one automerge change (that is how the core API works), but the store is written
//! only every `--save-every` items (default: once, at the end), so generation is fast. The home is
//! left as the CLI expects it: the workspace is current and this device is its mentor.

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tandem_core::automerge::ActorId;
use tandem_core::jiff::civil::Date;
use tandem_core::jiff::tz::TimeZone;
use tandem_core::jiff::{SignedDuration, Timestamp};
use tandem_core::model::{
    GoalChanges, GoalStatus, ItemId, Kind, NewAction, NewGoal, NewNote, Role, Workspace,
};
use tandem_core::store::{Home, Opened, SledStorage};

/// Fill a tandem home with a large, realistic mentoring workspace.
#[derive(Debug, Parser)]
#[command(name = "tandem-gen", version)]
struct Args {
    /// The tandem home to fill (created if missing); the CLI's `--home` / `TANDEM_HOME`.
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// Top-level items to create: goals, notes, check-ins, action items and resources.
    /// Milestones and ratings come on top.
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    /// Total bytes of note bodies (UTF-8 text), spread over the notes.
    #[arg(long, default_value_t = 1_000_000)]
    notes_bytes: usize,
    /// Seed of the random generator [default: from the clock; printed either way].
    #[arg(long)]
    seed: Option<u64>,
    /// The workspace's title.
    #[arg(long, default_value = "Ana & Ben — backend growth")]
    title: String,
    /// The mentor's name (this device).
    #[arg(long, default_value = "Ana")]
    mentor: String,
    /// The mentee's name (a second device).
    #[arg(long, default_value = "Ben")]
    mentee: String,
    /// Days of history the items are spread over, ending at --now.
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// The end of the history, RFC 3339 [default: the current time]. Due dates and "overdue" are
    /// relative to it, so use the same instant as TANDEM_NOW to reproduce a run exactly.
    #[arg(long)]
    now: Option<Timestamp>,
    /// Write the store every this many items (0: only once, at the end). Each save is one
    /// incremental chunk (or a compaction), as a long-lived workspace would have.
    #[arg(long, default_value_t = 0)]
    save_every: usize,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Also paste one note of this many bytes, written with plain automerge calls as another
    /// client would (tandem itself refuses text over 256 KiB): the "6 MB note" case.
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    paste_note_bytes: usize,
    /// Generate nothing: print what the home's store holds (documents, chunks, bytes) and exit.
    #[arg(long)]
    stats: bool,
    /// Generate nothing: time, in this process, each phase of what `tandem goal add` and
    /// `tandem plan` do on the home's current workspace, and exit. Adds one goal to it.
    #[arg(long)]
    phases: bool,
}

// ----- words -----

const OPENERS: &[&str] = &[
    "",
    "",
    "",
    "",
    "Today ",
    "This week ",
    "After the retro, ",
    "In our last session, ",
    "Honestly, ",
    "For next time, ",
    "On reflection, ",
    "During the incident review, ",
    "Looking back, ",
    "Before the planning meeting, ",
    "As discussed, ",
    "Quick note: ",
    "Since the reorg, ",
    "At standup, ",
    "Over coffee, ",
    "In the one-on-one, ",
];

const CLAUSES: &[&str] = &[
    "we talked about how to give clearer feedback on {topic}",
    "{mentee} walked me through the plan for {topic}",
    "I suggested pairing on {topic} for an afternoon",
    "{mentee} felt stuck on {topic} and was not sure who to ask",
    "we agreed that {topic} is the most important thing this quarter",
    "{mentor} shared how she approached {topic} on her previous team",
    "the estimate for {topic} was off by about a week",
    "{mentee} presented {topic} to the whole team and it went well",
    "we sketched the trade-offs of {topic} on the whiteboard",
    "there is still some confusion about who owns {topic}",
    "{mentee} wants more practice with {topic} before taking it on alone",
    "the review of {topic} surfaced a few questions about testing",
    "we read through the design document for {topic} together",
    "{mentee} took the lead on {topic} and asked good questions",
    "I recommended writing down the decisions behind {topic}",
    "{mentee} noticed that {topic} keeps coming up in retros",
    "we practised explaining {topic} to someone outside engineering",
    "the team lead asked {mentee} to help with {topic}",
    "{mentee} spent most of the week on {topic} and learned a lot",
    "we compared two ways of handling {topic}",
    "it would help to timebox {topic} next sprint",
    "{mentee} is getting more confident about {topic}",
    "the on-call week made it hard to focus on {topic}",
    "I asked what a good outcome for {topic} would look like",
    "we listed the open questions about {topic}",
    "{mentee} found a bug while working on {topic}",
    "{mentor} offered to introduce {mentee} to the people who know {topic} best",
    "the feedback on {topic} was mostly positive",
    "we should check in on {topic} again in two weeks",
    "{mentee} would like to mentor a new hire on {topic} later this year",
];

const TOPICS: &[&str] = &[
    "the payments migration",
    "code review etiquette",
    "the on-call runbook",
    "database indexing",
    "the quarterly roadmap",
    "writing design docs",
    "the flaky integration tests",
    "estimating work",
    "the public API",
    "error handling in the importer",
    "the caching layer",
    "observability",
    "structured logging",
    "the incident postmortem",
    "saying no to scope creep",
    "the release process",
    "performance profiling",
    "the search service",
    "accessibility",
    "the mobile client",
    "feature flags",
    "the hiring loop",
    "public speaking",
    "async Rust",
    "the data pipeline",
    "test coverage",
    "technical debt",
    "the authentication flow",
    "the deployment scripts",
    "cross-team communication",
    "the sprint demo",
    "the budget review",
    "the customer escalation",
    "onboarding documentation",
    "the schema change",
    "the load balancer config",
    "time management",
    "giving feedback",
    "receiving feedback",
    "the architecture review",
    "the promotion packet",
    "the retry logic",
    "rate limiting",
    "the billing reports",
    "the style guide",
    "the monorepo tooling",
    "the SQL queries",
    "the team wiki",
    "the conference talk",
    "the internal hackathon",
    "dependency upgrades",
    "the backlog grooming",
    "security reviews",
    "the analytics dashboard",
    "career goals",
    "the migration to Kubernetes",
    "the notification service",
    "pairing sessions",
    "the frontend rewrite",
    "the open-source contribution",
    "the chaos drill",
];

const TAILS: &[&str] = &[
    "",
    "",
    "",
    "",
    " before the next release",
    " because the deadline moved",
    ", which felt like real progress",
    " and agreed to revisit it in two weeks",
    " so that the team can own it",
    ", even though it took longer than planned",
    " without much help this time",
    " and wrote it up afterwards",
    ", but we ran out of time",
    " after a long discussion",
    " with the platform team",
    " as a first step",
];

const TAGS: &[&str] = &[
    "feedback",
    "career",
    "reading",
    "1:1",
    "retro",
    "tech",
    "soft-skills",
    "planning",
    "incident",
    "idea",
    "blocked",
    "win",
];

const VERBS: &[&str] = &[
    "Write",
    "Review",
    "Lead",
    "Draft",
    "Prepare",
    "Finish",
    "Read up on",
    "Present",
    "Document",
    "Refactor",
    "Shadow someone on",
    "Ask for feedback on",
    "Timebox",
    "Pair on",
    "Summarise",
    "Plan",
    "Estimate",
    "Test",
    "Clean up",
    "Demo",
];

const GOAL_SHAPES: &[&str] = &[
    "Become the go-to person for {topic}",
    "Lead {topic} end to end",
    "Get comfortable with {topic}",
    "Give a talk about {topic}",
    "Own {topic} for the team",
    "Improve how the team handles {topic}",
    "Learn enough about {topic} to review others' work",
    "Ship {topic} by the end of the quarter",
];

const RESOURCES: &[(&str, &str)] = &[
    (
        "The Rust Programming Language",
        "https://doc.rust-lang.org/book/",
    ),
    (
        "Designing Data-Intensive Applications",
        "https://dataintensive.net/",
    ),
    (
        "The Manager's Path",
        "https://www.oreilly.com/library/view/the-managers-path/9781491973882/",
    ),
    (
        "Staff Engineer: Leadership beyond the management track",
        "https://staffeng.com/book",
    ),
    (
        "Google SRE book: Postmortem culture",
        "https://sre.google/sre-book/postmortem-culture/",
    ),
    (
        "A Philosophy of Software Design",
        "https://web.stanford.edu/~ouster/cgi-bin/book.php",
    ),
    (
        "Thanks for the Feedback",
        "https://www.stoneandheen.com/thanks-feedback",
    ),
    (
        "Local-first software",
        "https://www.inkandswitch.com/local-first/",
    ),
    (
        "Automerge documentation",
        "https://automerge.org/docs/hello/",
    ),
    ("Tokio tutorial", "https://tokio.rs/tokio/tutorial"),
    ("Use The Index, Luke", "https://use-the-index-luke.com/"),
    ("Conventional Comments", "https://conventionalcomments.org/"),
    (
        "How to write a good design doc",
        "https://www.industrialempathy.com/posts/design-docs-at-google/",
    ),
    (
        "Working Effectively with Legacy Code",
        "https://www.oreilly.com/library/view/working-effectively-with/0131177052/",
    ),
    (
        "The Pragmatic Programmer",
        "https://pragprog.com/titles/tpp20/the-pragmatic-programmer-20th-anniversary-edition/",
    ),
    ("Accelerate", "https://itrevolution.com/product/accelerate/"),
    ("Team Topologies", "https://teamtopologies.com/book"),
    (
        "Crucial Conversations",
        "https://cruciallearning.com/crucial-conversations-book/",
    ),
    (
        "Rust API Guidelines",
        "https://rust-lang.github.io/api-guidelines/",
    ),
    ("Jepsen analyses", "https://jepsen.io/analyses"),
];

const COMMENTS: &[&str] = &[
    "Useful, we covered a lot.",
    "Felt rushed at the end.",
    "Great questions today.",
    "I left with a clear next step.",
    "We should prepare an agenda beforehand.",
    "Good energy, a bit unfocused.",
    "Exactly what I needed this week.",
    "Too much status update, not enough coaching.",
    "Loved the whiteboard session.",
];

/// The two people of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Mentor,
    Mentee,
}

struct Person {
    pid: String,
    actor: ActorId,
}

/// Text generation from the seeded generator.
struct Words<'a> {
    rng: StdRng,
    mentor: &'a str,
    mentee: &'a str,
}

impl Words<'_> {
    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.rng.gen_range(0..from.len())]
    }

    fn fill(&mut self, template: &str) -> String {
        let topic = self.pick(TOPICS);
        template
            .replace("{topic}", topic)
            .replace("{mentor}", self.mentor)
            .replace("{mentee}", self.mentee)
    }

    fn sentence(&mut self) -> String {
        let opener = self.pick(OPENERS);
        let clause = self.pick(CLAUSES);
        let clause = self.fill(clause);
        let tail = self.pick(TAILS);
        let end = match self.rng.gen_range(0..20) {
            0 => "!",
            1 => "?",
            _ => ".",
        };
        let mut s = format!("{opener}{clause}{tail}{end}");
        capitalise(&mut s);
        s
    }

    /// Prose of about `target` bytes (at least one sentence), in paragraphs, sometimes with a list.
    fn prose(&mut self, target: usize) -> String {
        let mut out = String::with_capacity(target + 200);
        let mut in_paragraph = 0;
        while out.len() < target || out.is_empty() {
            if in_paragraph > 0 && self.rng.gen_ratio(1, 5) {
                out.push_str("\n\n");
                in_paragraph = 0;
                if self.rng.gen_ratio(1, 6) {
                    for _ in 0..self.rng.gen_range(2..5) {
                        let item = self.action_title();
                        out.push_str("- ");
                        out.push_str(&item);
                        out.push('\n');
                    }
                    out.push('\n');
                }
            } else if in_paragraph > 0 {
                out.push(' ');
            }
            let s = self.sentence();
            out.push_str(&s);
            in_paragraph += 1;
        }
        out
    }

    fn action_title(&mut self) -> String {
        let verb = self.pick(VERBS);
        let topic = self.pick(TOPICS);
        format!("{verb} {topic}")
    }

    fn goal_title(&mut self) -> String {
        let shape = self.pick(GOAL_SHAPES);
        self.fill(shape)
    }

    fn note_title(&mut self) -> String {
        match self.rng.gen_range(0..4) {
            0 => format!("Thoughts on {}", self.pick(TOPICS)),
            1 => format!("1:1 notes — {}", self.pick(TOPICS)),
            2 => format!(
                "Reading: {}",
                self.pick(RESOURCES.iter().map(|r| r.0).collect::<Vec<_>>().as_slice())
            ),
            _ => {
                let mut t = self.pick(TOPICS).to_string();
                capitalise(&mut t);
                t
            }
        }
    }
}

fn capitalise(s: &mut String) {
    if let Some(first) = s.chars().next() {
        let upper: String = first.to_uppercase().collect();
        s.replace_range(..first.len_utf8(), &upper);
    }
}

/// Something that happens after an item was created, applied when the timeline reaches it.
#[derive(Debug)]
enum Event {
    GoalStatus {
        goal: ItemId,
        status: &'static str,
    },
    MilestoneDone {
        goal: ItemId,
        milestone: ItemId,
    },
    ActionDone {
        action: ItemId,
    },
    CheckinNotes {
        checkin: ItemId,
        notes: String,
    },
    Rate {
        checkin: ItemId,
        rating: i64,
        comment: Option<String>,
    },
    Archive {
        kind: Kind,
        id: ItemId,
    },
}

/// The generator's state: the home, the open workspace, and the events still to come.
struct Gen<'a> {
    home: Home,
    opened: Opened,
    words: Words<'a>,
    mentor: Person,
    mentee: Person,
    acting: Who,
    clock: Timestamp,
    events: BinaryHeap<Reverse<(i64, usize)>>,
    pending: Vec<Option<(Who, Event)>>,
    goals: Vec<ItemId>,
    checkins: Vec<(ItemId, Timestamp)>,
    counts: Counts,
}

#[derive(Debug, Default)]
struct Counts {
    goals: usize,
    milestones: usize,
    notes: usize,
    checkins: usize,
    actions: usize,
    resources: usize,
    ratings: usize,
    goals_done: usize,
    milestones_done: usize,
    actions_done: usize,
    archived: usize,
    note_body_bytes: usize,
    text_bytes: usize,
    changes_applied: usize,
}

fn date_of(ts: Timestamp) -> Date {
    ts.to_zoned_datetime(TimeZone::UTC).date()
}

fn days(n: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(n * 86_400.0)
}

impl Gen<'_> {
    fn rng(&mut self) -> &mut StdRng {
        &mut self.words.rng
    }

    /// Act as `who` at instant `at`: the workspace's clock (recorded on items and changes), the
    /// participant recorded as creator, and the automerge actor of that person's device.
    fn act(&mut self, who: Who, at: Timestamp) -> Result<()> {
        let id = self.opened.id().to_string();
        let doc = std::mem::take(self.opened.ws.doc_mut());
        self.opened.ws = Workspace::open(doc, &id, at)?;
        let person = match who {
            Who::Mentor => &self.mentor,
            Who::Mentee => &self.mentee,
        };
        self.opened.ws.act_as(Some(person.pid.clone()));
        if self.acting != who {
            self.opened.ws.doc_mut().set_actor(person.actor.clone());
            self.acting = who;
        }
        Ok(())
    }

    fn schedule(&mut self, at: Timestamp, who: Who, event: Event) {
        let seq = self.pending.len();
        self.pending.push(Some((who, event)));
        self.events.push(Reverse((at.as_second(), seq)));
    }

    /// Apply every scheduled event up to `until`.
    fn catch_up(&mut self, until: Timestamp) -> Result<()> {
        while let Some(Reverse((secs, seq))) = self.events.peek().copied() {
            if secs > until.as_second() {
                break;
            }
            self.events.pop();
            let (who, event) = self.pending[seq]
                .take()
                .expect("each event is applied once");
            self.act(who, Timestamp::from_second(secs)?)?;
            let ws = &mut self.opened.ws;
            match event {
                Event::GoalStatus { goal, status } => {
                    ws.set_goal(
                        &goal,
                        GoalChanges {
                            status: Some(GoalStatus::from_stored(status)),
                            ..Default::default()
                        },
                    )?;
                    if status == "done" {
                        self.counts.goals_done += 1;
                    }
                }
                Event::MilestoneDone { goal, milestone } => {
                    ws.set_milestone_done(&goal, &milestone, true)?;
                    self.counts.milestones_done += 1;
                }
                Event::ActionDone { action } => {
                    ws.set_action_done(&action, true)?;
                    self.counts.actions_done += 1;
                }
                Event::CheckinNotes { checkin, notes } => {
                    self.counts.text_bytes += notes.len();
                    ws.edit_checkin_notes(&checkin, &notes)?;
                }
                Event::Rate {
                    checkin,
                    rating,
                    comment,
                } => {
                    self.counts.text_bytes += comment.as_deref().map_or(0, str::len);
                    ws.rate_checkin(&checkin, rating, comment.as_deref())?;
                    self.counts.ratings += 1;
                }
                Event::Archive { kind, id } => {
                    ws.archive(kind, &id)?;
                    self.counts.archived += 1;
                }
            }
            self.counts.changes_applied += 1;
        }
        Ok(())
    }

    fn who(&mut self, mentee_share: f64) -> Who {
        if self.rng().gen_bool(mentee_share) {
            Who::Mentee
        } else {
            Who::Mentor
        }
    }

    fn name(&self, who: Who) -> String {
        match who {
            Who::Mentor => self.words.mentor.to_string(),
            Who::Mentee => self.words.mentee.to_string(),
        }
    }

    fn maybe_archive(&mut self, kind: Kind, id: &ItemId, created: Timestamp) {
        if self.rng().gen_ratio(1, 50) {
            let later = created + days(self.rng().gen_range(1.0..60.0));
            self.schedule(
                later,
                Who::Mentor,
                Event::Archive {
                    kind,
                    id: id.clone(),
                },
            );
        }
    }

    fn goal(&mut self, at: Timestamp) -> Result<()> {
        let who = self.who(0.6);
        self.act(who, at)?;
        let title = self.words.goal_title();
        let description = if self.rng().gen_bool(0.5) {
            let n = self.rng().gen_range(40..250);
            Some(self.words.prose(n))
        } else {
            None
        };
        let span = self.rng().gen_range(30.0..180.0);
        let due = at + days(span);
        let owner = if self.rng().gen_bool(0.8) {
            Who::Mentee
        } else {
            Who::Mentor
        };
        let owner = self.name(owner);
        self.counts.text_bytes += title.len() + description.as_deref().map_or(0, str::len);
        let due_field = self.rng().gen_bool(0.8).then(|| date_of(due));
        let id = self.opened.ws.add_goal(NewGoal {
            title,
            description,
            due: due_field,
            owner: Some(owner),
        })?;
        self.counts.goals += 1;
        // Where the goal ends up, decided now and applied when the timeline gets there.
        let r: f64 = self.rng().gen();
        let end = due + days(self.rng().gen_range(-20.0..20.0));
        let outcome = if r < 0.55 {
            "done"
        } else if r < 0.65 {
            "dropped"
        } else {
            "active"
        };
        let activated = at + days(self.rng().gen_range(0.5..10.0));
        self.schedule(
            activated,
            who,
            Event::GoalStatus {
                goal: id.clone(),
                status: "active",
            },
        );
        if outcome != "active" {
            self.schedule(
                end.max(activated + days(1.0)),
                who,
                Event::GoalStatus {
                    goal: id.clone(),
                    status: outcome,
                },
            );
        }
        let milestones = self.rng().gen_range(1..=5);
        for k in 0..milestones {
            let title = self.words.action_title();
            self.counts.text_bytes += title.len();
            let m_due = at + days(span * f64::from(k + 1) / f64::from(milestones));
            let with_due = self.rng().gen_bool(0.7).then(|| date_of(m_due));
            let mid = self.opened.ws.add_milestone(&id, &title, with_due)?;
            self.counts.milestones += 1;
            let done_p = if outcome == "done" { 0.95 } else { 0.6 };
            if self.rng().gen_bool(done_p) {
                let when = m_due + days(self.rng().gen_range(-5.0..10.0));
                let who = self.who(0.8);
                self.schedule(
                    when.max(at + days(0.1)),
                    who,
                    Event::MilestoneDone {
                        goal: id.clone(),
                        milestone: mid,
                    },
                );
            }
        }
        self.maybe_archive(Kind::Goal, &id, at);
        self.goals.push(id);
        Ok(())
    }

    fn note(&mut self, at: Timestamp, body_bytes: usize) -> Result<()> {
        let who = self.who(0.5);
        self.act(who, at)?;
        let body = self.words.prose(body_bytes);
        let title = self.rng().gen_bool(0.7).then(|| self.words.note_title());
        let goal = if !self.goals.is_empty() && self.rng().gen_bool(0.5) {
            let (recent, len) = (self.goals.len().saturating_sub(30), self.goals.len());
            let i = self.rng().gen_range(recent..len);
            Some(self.goals[i].clone())
        } else {
            None
        };
        let tags = (0..self.rng().gen_range(0..=3))
            .map(|_| self.words.pick(TAGS).to_string())
            .collect();
        self.counts.note_body_bytes += body.len();
        self.counts.text_bytes += body.len() + title.as_deref().map_or(0, str::len);
        let id = self.opened.ws.add_note(NewNote {
            title,
            body,
            goal,
            tags,
        })?;
        self.counts.notes += 1;
        self.maybe_archive(Kind::Note, &id, at);
        Ok(())
    }

    fn checkin(&mut self, at: Timestamp) -> Result<()> {
        self.act(Who::Mentor, at)?;
        let meet_day = at + days(self.rng().gen_range(1.0..10.0));
        let hour = self.rng().gen_range(8..17);
        let meet_day = meet_day.to_zoned_datetime(TimeZone::UTC).date();
        let meeting = meet_day
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(TimeZone::UTC)?
            .timestamp();
        let agenda: Vec<String> = (0..self.rng().gen_range(2..5))
            .map(|_| format!("- {}", self.words.action_title()))
            .collect();
        let agenda = agenda.join("\n");
        self.counts.text_bytes += agenda.len();
        let id = self.opened.ws.add_checkin(meeting, &agenda)?;
        self.counts.checkins += 1;
        let after = meeting + SignedDuration::from_mins(self.rng().gen_range(45..180));
        let n = self.rng().gen_range(60..300);
        let notes = self.words.prose(n);
        self.schedule(
            after,
            Who::Mentor,
            Event::CheckinNotes {
                checkin: id.clone(),
                notes,
            },
        );
        for who in [Who::Mentor, Who::Mentee] {
            if self.rng().gen_bool(0.85) {
                let rating = *[3, 4, 4, 4, 5, 5, 5, 2]
                    .choose(self.rng())
                    .expect("not empty");
                let comment = self
                    .rng()
                    .gen_bool(0.5)
                    .then(|| self.words.pick(COMMENTS).to_string());
                let when = after + days(self.rng().gen_range(0.0..2.0));
                self.schedule(
                    when,
                    who,
                    Event::Rate {
                        checkin: id.clone(),
                        rating,
                        comment,
                    },
                );
            }
        }
        self.checkins.push((id, meeting));
        Ok(())
    }

    fn action(&mut self, at: Timestamp, now: Timestamp) -> Result<()> {
        let who = self.who(0.5);
        self.act(who, at)?;
        let title = self.words.action_title();
        let due = at + days(self.rng().gen_range(2.0..30.0));
        let owner = if self.rng().gen_bool(0.7) {
            Who::Mentee
        } else {
            Who::Mentor
        };
        let goal = (!self.goals.is_empty() && self.rng().gen_bool(0.5)).then(|| {
            let (recent, len) = (self.goals.len().saturating_sub(20), self.goals.len());
            let i = self.rng().gen_range(recent..len);
            self.goals[i].clone()
        });
        let checkin = match self.checkins.last() {
            Some((c, _)) if self.words.rng.gen_bool(0.3) => Some(c.clone()),
            _ => None,
        };
        self.counts.text_bytes += title.len();
        let owner = self.name(owner);
        let due_field = self.rng().gen_bool(0.9).then(|| date_of(due));
        let id = self.opened.ws.add_action(NewAction {
            title,
            owner: Some(owner),
            due: due_field,
            goal,
            checkin,
        })?;
        self.counts.actions += 1;
        // Most past actions get done, a few slip; recent ones are mostly still open.
        let done_p = if due < now { 0.85 } else { 0.25 };
        if self.rng().gen_bool(done_p) {
            let when = at
                + due
                    .duration_since(at)
                    .mul_f64(self.rng().gen_range(0.2..1.3));
            let doer = self.who(0.7);
            self.schedule(when, doer, Event::ActionDone { action: id.clone() });
        }
        self.maybe_archive(Kind::Action, &id, at);
        Ok(())
    }

    fn resource(&mut self, at: Timestamp) -> Result<()> {
        let who = self.who(0.3);
        self.act(who, at)?;
        let (title, url) = *RESOURCES.choose(self.rng()).expect("not empty");
        let note = if self.rng().gen_bool(0.4) {
            let n = self.rng().gen_range(30..150);
            Some(self.words.prose(n))
        } else {
            None
        };
        self.counts.text_bytes += title.len() + note.as_deref().map_or(0, str::len);
        // The same book is often recommended more than once; the URL says which chapter.
        let url = format!("{url}#{}", self.counts.resources);
        self.opened.ws.add_resource(title, &url, note.as_deref())?;
        self.counts.resources += 1;
        Ok(())
    }
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// What the store holds for each document: (id, snapshots, incremental chunks, bytes).
fn store_stats(home: &Home) -> Result<Vec<(String, usize, usize, usize)>> {
    let mut out = Vec::new();
    for id in tandem_core::store::docstore::list(home.store().as_ref())? {
        let (mut snapshots, mut incrementals, mut bytes) = (0, 0, 0);
        for (k, v) in home.store().scan_prefix(format!("doc/{id}/").as_bytes())? {
            let rest = &k[id.len() + 5..];
            if rest.starts_with(b"snapshot/") {
                snapshots += 1;
            } else if rest.starts_with(b"incremental/") {
                incrementals += 1;
            } else {
                continue;
            }
            bytes += v.len();
        }
        out.push((id, snapshots, incrementals, bytes));
    }
    Ok(out)
}

fn print_stats(dir: &Path) -> Result<()> {
    let home = Home::open(Arc::new(SledStorage::open(&dir.join("store"))?))?;
    let stats = store_stats(&home)?;
    drop(home);
    for (id, snapshots, incrementals, bytes) in &stats {
        println!(
            "doc {id}: {} chunk(s) ({snapshots} snapshot, {incrementals} incremental), {bytes} bytes",
            snapshots + incrementals
        );
    }
    println!("home directory: {} bytes", dir_size(dir));
    Ok(())
}

/// Best of `n` runs of `f`, in milliseconds, and its last result.
fn best_of<T>(n: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..n {
        let t = Instant::now();
        let value = f()?;
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        out = Some(value);
    }
    Ok((best, out.expect("n > 0")))
}

fn print_phases(dir: &Path) -> Result<()> {
    use tandem_core::automerge::{AutoCommit, LoadOptions, VerificationMode};
    let row = |what: &str, ms: f64| println!("| {what} | {ms:.1} |");
    println!("| phase (in-process, best of 3 where repeated) | ms |");
    println!("|:---|---:|");
    let t = Instant::now();
    let home = Home::open(Arc::new(SledStorage::open(&dir.join("store"))?))?;
    row(
        "open the sled store and the home",
        t.elapsed().as_secs_f64() * 1000.0,
    );
    let (ms, id) = best_of(3, || Ok(home.resolve(None)?))?;
    row("find the current workspace (scan `ws/`)", ms);
    let (ms, chunks) = best_of(3, || {
        Ok(home.store().scan_prefix(format!("doc/{id}/").as_bytes())?)
    })?;
    let total: usize = chunks.iter().map(|(_, v)| v.len()).sum();
    row(
        &format!(
            "read its {} chunk(s), {total} bytes (scan `doc/<id>/`)",
            chunks.len()
        ),
        ms,
    );
    // Snapshots first, as docstore::load concatenates them.
    let mut bytes = Vec::with_capacity(total);
    let is_snapshot = |k: &[u8]| k.windows(9).any(|w| w == b"snapshot/");
    for (_, v) in chunks.iter().filter(|(k, _)| is_snapshot(k)) {
        bytes.extend_from_slice(v);
    }
    let snapshot_len = bytes.len();
    for (_, v) in chunks.iter().filter(|(k, _)| !is_snapshot(k)) {
        bytes.extend_from_slice(v);
    }
    let (ms, mut doc) = best_of(3, || Ok(AutoCommit::load(&bytes)?))?;
    let st = tandem_core::automerge::ReadDoc::stats(&doc);
    row(
        &format!(
            "`AutoCommit::load` of the concatenated chunks ({} ops, {} changes, {} actors)",
            st.num_ops, st.num_changes, st.num_actors
        ),
        ms,
    );
    let (ms, _) = best_of(3, || {
        Ok(AutoCommit::load_with_options(
            &bytes,
            LoadOptions::new().verification_mode(VerificationMode::DontCheck),
        )?)
    })?;
    row("… the same with `VerificationMode::DontCheck`", ms);
    if snapshot_len < bytes.len() {
        let (ms, _) = best_of(3, || Ok(AutoCommit::load(&bytes[..snapshot_len])?))?;
        row("… the snapshot chunk alone", ms);
    }
    let (ms, _) = best_of(3, || Ok(doc.fork()))?;
    row("`fork()` of the loaded document (an in-memory copy)", ms);
    let (ms, changes) = best_of(1, || Ok(doc.get_changes(&[]).len()))?;
    row(
        &format!("`get_changes(&[])`: {changes} changes (`plan` counts unsynced changes so)"),
        ms,
    );
    let (ms, metas) = best_of(1, || Ok(doc.get_changes_meta(&[]).len()))?;
    row(
        &format!("`get_changes_meta(&[])`: {metas} changes (metadata only)"),
        ms,
    );
    let (ms, _) = best_of(1, || Ok(doc.document().hydrate(None)))?;
    row(
        "`hydrate(None)`: the whole document as plain values, in one pass",
        ms,
    );
    let (ms, saved) = best_of(1, || Ok(doc.save()))?;
    row(
        &format!(
            "`save()` of the whole document, {} bytes (a compaction)",
            saved.len()
        ),
        ms,
    );
    drop(doc);

    let now = Timestamp::now();
    let (ms, mut opened) = best_of(1, || Ok(home.open_workspace(&id, now)?))?;
    row("`Home::open_workspace` (what every command does)", ms);
    let (ms, goal) = best_of(1, || {
        Ok(opened.ws.add_goal(NewGoal {
            title: "phases goal".into(),
            ..Default::default()
        })?)
    })?;
    row("`Workspace::add_goal`", ms);
    let (ms, _) = best_of(1, || Ok(home.save(&mut opened)?))?;
    row("`Home::save` (incremental chunk, put, flush)", ms);
    let (ms, _) = best_of(1, || Ok(opened.ws.goal(&goal)?))?;
    row("`Workspace::goal` (read back the new goal)", ms);
    let (ms, _) = best_of(1, || Ok(home.store().flush()?))?;
    row("an extra `flush()` with nothing to write", ms);

    let ws = &opened.ws;
    let (ms, n) = best_of(1, || Ok(ws.goals().len()))?;
    row(&format!("`Workspace::goals()`: {n} goals"), ms);
    let (ms, n) = best_of(1, || Ok(ws.actions().len()))?;
    row(&format!("`Workspace::actions()`: {n} actions"), ms);
    let (ms, n) = best_of(1, || Ok(ws.checkins().len()))?;
    row(&format!("`Workspace::checkins()`: {n} check-ins"), ms);
    let (ms, n) = best_of(1, || Ok(ws.conflicts().len()))?;
    row(&format!("`Workspace::conflicts()`: {n} conflicts"), ms);
    let (ms, _) = best_of(1, || Ok(ws.participants()))?;
    row(
        "`Workspace::participants()` (called once per item by `display_name`)",
        ms,
    );
    let (ms, n) = best_of(1, || Ok(home.unsynced_changes(&mut opened)?))?;
    row(&format!("`Home::unsynced_changes`: {n}"), ms);
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.stats {
        return print_stats(&args.home);
    }
    if args.phases {
        return print_phases(&args.home);
    }
    let started = Instant::now();
    let seed = args.seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        t.as_secs() ^ u64::from(t.subsec_nanos()).rotate_left(32)
    });
    let now = args.now.unwrap_or_else(Timestamp::now);
    let now = Timestamp::from_second(now.as_second())?;
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let start = now - days(f64::from(args.days));
    let progress = std::io::stderr().is_terminal() && !args.json;
    if !args.json {
        println!("seed: {seed}");
        println!("now: {now} (use TANDEM_NOW={now} to see the workspace as of generation)");
    }

    std::fs::create_dir_all(&args.home)
        .with_context(|| format!("cannot create {}", args.home.display()))?;
    let store = SledStorage::open(&args.home.join("store"))?;
    let home = Home::open(Arc::new(store))?;
    let opened = home.create_workspace(&args.title, &args.mentor, Role::Mentor, start)?;
    let mentor_pid = opened
        .ws
        .me()
        .context("the creator is a participant")?
        .to_string();

    let mut rng = StdRng::seed_from_u64(seed);
    let mut actor_bytes = [0u8; 16];
    rng.fill(&mut actor_bytes);
    let mentee_actor = ActorId::from(&actor_bytes[..]);
    let words = Words {
        rng,
        mentor: &args.mentor,
        mentee: &args.mentee,
    };
    let mut g = Gen {
        mentor: Person {
            pid: mentor_pid,
            actor: home.actor().clone(),
        },
        mentee: Person {
            pid: String::new(),
            actor: mentee_actor.clone(),
        },
        home,
        opened,
        words,
        acting: Who::Mentor,
        clock: start,
        events: BinaryHeap::new(),
        pending: Vec::new(),
        goals: Vec::new(),
        checkins: Vec::new(),
        counts: Counts::default(),
    };
    // The mentee joins a day later from their own device (as `tandem join` would record it).
    g.act(Who::Mentee, start + days(1.0))?;
    g.mentee.pid = g
        .opened
        .ws
        .add_participant(&args.mentee, Role::Mentee, &mentee_actor)?;
    g.act(Who::Mentor, start + days(1.0))?;

    // Which kind each item is: fixed proportions, in a shuffled order, starting with a goal.
    let n = args.items;
    let share = |p: f64| (n as f64 * p).round() as usize;
    let goals = share(0.10).max(usize::from(n > 0));
    let notes = share(0.25).min(n - goals);
    let checkins = share(0.08).min(n - goals - notes);
    let resources = share(0.15).min(n - goals - notes - checkins);
    let actions = n - goals - notes - checkins - resources;
    let mut kinds: Vec<Kind> = [
        (Kind::Goal, goals.saturating_sub(1)),
        (Kind::Note, notes),
        (Kind::CheckIn, checkins),
        (Kind::Action, actions),
        (Kind::Resource, resources),
    ]
    .into_iter()
    .flat_map(|(k, c)| std::iter::repeat_n(k, c))
    .collect();
    kinds.shuffle(g.rng());
    if n > 0 {
        kinds.insert(0, Kind::Goal);
    }

    let span = now.duration_since(start + days(1.0)).as_secs_f64();
    let mut notes_left = notes;
    let mut bytes_left = args.notes_bytes;
    let mut last_report = Instant::now();
    for (i, kind) in kinds.into_iter().enumerate() {
        let frac = (i as f64 + g.rng().gen_range(0.0..1.0)) / n as f64;
        let at = start + days(1.0) + SignedDuration::from_secs_f64(span * frac);
        let at = Timestamp::from_second(at.as_second().max(g.clock.as_second()))?;
        g.clock = at;
        g.catch_up(at)?;
        match kind {
            Kind::Goal => g.goal(at)?,
            Kind::Note => {
                // Spread the remaining budget over the remaining notes, with some variety.
                let target = if notes_left == 1 {
                    bytes_left
                } else {
                    let avg = bytes_left as f64 / notes_left as f64;
                    (avg * g.rng().gen_range(0.3..1.7)) as usize
                };
                let before = g.counts.note_body_bytes;
                g.note(at, target.max(1))?;
                bytes_left = bytes_left.saturating_sub(g.counts.note_body_bytes - before);
                notes_left -= 1;
            }
            Kind::CheckIn => g.checkin(at)?,
            Kind::Action => g.action(at, now)?,
            Kind::Resource => g.resource(at)?,
        }
        if args.save_every > 0 && (i + 1) % args.save_every == 0 {
            g.home.save(&mut g.opened)?;
        }
        if progress && last_report.elapsed().as_millis() >= 250 {
            eprint!(
                "\r{} / {n} items, {:.1} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    g.catch_up(now)?;
    if args.paste_note_bytes > 0 {
        paste_note(&mut g.opened, args.paste_note_bytes, now)?;
    }
    if progress {
        eprint!("\r{}\r", " ".repeat(40));
    }
    let generated = started.elapsed();

    let before_save = Instant::now();
    g.home.save(&mut g.opened)?;
    let save_time = before_save.elapsed();

    // Every item and every later event is one change, plus creating the workspace and the
    // mentee joining.
    let c = &g.counts;
    let changes = 2
        + c.goals
        + c.milestones
        + c.notes
        + c.checkins
        + c.actions
        + c.resources
        + c.changes_applied;
    let (snapshots, incrementals, stored_bytes) = store_stats(&g.home)?
        .into_iter()
        .find(|s| s.0 == g.opened.id().to_string())
        .map(|s| (s.1, s.2, s.3))
        .unwrap_or_default();
    let chunks = snapshots + incrementals;
    // The last save compacted unless --save-every left incremental chunks; a lone snapshot is
    // exactly `save()`, so it need not be computed twice.
    let doc_bytes = if chunks == 1 && snapshots == 1 {
        stored_bytes
    } else {
        g.opened.ws.doc_mut().save().len()
    };
    let id = g.opened.id().to_string();
    drop(g.opened);
    drop(g.home);
    let home_bytes = dir_size(&args.home);
    let elapsed = started.elapsed();
    let c = &g.counts;
    let summary = serde_json::json!({
        "seed": seed,
        "now": now.to_string(),
        "workspace": id,
        "items": c.goals + c.notes + c.checkins + c.actions + c.resources,
        "counts": {
            "goals": c.goals, "milestones": c.milestones, "notes": c.notes,
            "checkins": c.checkins, "actions": c.actions, "resources": c.resources,
            "ratings": c.ratings, "goals_done": c.goals_done,
            "milestones_done": c.milestones_done, "actions_done": c.actions_done,
            "archived": c.archived, "note_body_bytes": c.note_body_bytes,
            "text_bytes": c.text_bytes, "later_changes": c.changes_applied,
        },
        "changes": changes,
        "doc_bytes": doc_bytes,
        "chunks": chunks,
        "home_bytes": home_bytes,
        "generate_secs": generated.as_secs_f64(),
        "save_secs": save_time.as_secs_f64(),
        "elapsed_secs": elapsed.as_secs_f64(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "workspace: {} “{}” in {}",
        id,
        args.title,
        args.home.display()
    );
    println!(
        "items: {} ({} goals with {} milestones, {} notes, {} check-ins, {} action items, {} resources)",
        c.goals + c.notes + c.checkins + c.actions + c.resources,
        c.goals,
        c.milestones,
        c.notes,
        c.checkins,
        c.actions,
        c.resources
    );
    println!(
        "later edits: {} goals done, {} milestones done, {} actions done, {} ratings, {} archived",
        c.goals_done, c.milestones_done, c.actions_done, c.ratings, c.archived
    );
    println!(
        "text: {} bytes of note bodies, {} bytes of text in all",
        c.note_body_bytes, c.text_bytes
    );
    println!("changes: {changes}");
    println!("doc size (save()): {doc_bytes} bytes");
    println!("store: {chunks} chunk(s), home directory {home_bytes} bytes");
    println!(
        "elapsed: {:.2} s (generate {:.2} s, save {:.2} s)",
        elapsed.as_secs_f64(),
        generated.as_secs_f64(),
        save_time.as_secs_f64()
    );
    Ok(())
}

/// Paste one note of `bytes` bytes of prose, as a client without tandem's limit on one field
/// would: a map in `notes` with a Text body, in one change.
fn paste_note(opened: &mut Opened, bytes: usize, now: Timestamp) -> Result<()> {
    use tandem_core::automerge::{transaction::Transactable, ObjType, ReadDoc, ROOT};
    let doc = opened.ws.doc_mut();
    let Some((_, notes)) = doc.get(ROOT, "notes")? else {
        bail!("the workspace has no notes");
    };
    let note = doc.put_object(&notes, "0123456789abcdef", ObjType::Map)?;
    doc.put(&note, "title", "Pasted book")?;
    doc.put(&note, "archived", false)?;
    doc.put(&note, "created_at", now.to_string())?;
    let body = doc.put_object(&note, "body", ObjType::Text)?;
    let line = "All work and no play makes a very long note. ☕\n";
    doc.splice_text(&body, 0, 0, &line.repeat(bytes / line.len()))?;
    doc.commit();
    Ok(())
}
