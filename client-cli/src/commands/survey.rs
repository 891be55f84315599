//! `tandem survey`: answer the pulse survey (three questions from 1 to 5 and a comment), or list
//! the answers given so far with `--show`.

use super::shared::{list_items, paint, read};
use crate::context::Context;
use crate::render::line;
use crate::values;
use anyhow::{bail, Result};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use tandem_core::model::survey::today_in_utc;
use tandem_core::model::{first_line, NewSurvey, Role};

/// The three questions as the interactive prompt asks them, in the order of the flags.
const QUESTIONS: [&str; 3] = [
    "How is the mentee progressing towards their goals?",
    "How is the mentoring relationship going?",
    "Would you recommend this mentoring to a colleague?",
];

#[derive(Debug, Args)]
pub struct SurveyArgs {
    /// How the mentee is progressing, from 1 (poorly) to 5 (very well).
    #[arg(long, value_name = "N", value_parser = values::rating, requires_all = ["relationship", "recommend"])]
    progress: Option<u8>,
    /// How the relationship is going, from 1 (poorly) to 5 (very well).
    #[arg(long, value_name = "N", value_parser = values::rating, requires_all = ["progress", "recommend"])]
    relationship: Option<u8>,
    /// How likely you are to recommend it, from 1 (not at all) to 5 (certainly).
    #[arg(long, value_name = "N", value_parser = values::rating, requires_all = ["progress", "relationship"])]
    recommend: Option<u8>,
    /// A word on why.
    #[arg(long, requires = "progress")]
    comment: Option<String>,
    /// List the answers given so far, yours and your partner's, instead of answering.
    #[arg(long, conflicts_with_all = ["progress", "relationship", "recommend", "comment"])]
    show: bool,
}

impl SurveyArgs {
    /// Whether the command changes the workspace: unless it only lists.
    pub fn writes(&self) -> bool {
        !self.show
    }
}

pub fn run(ctx: &Context, args: SurveyArgs) -> Result<()> {
    if args.show {
        return show(ctx);
    }
    let answers = match (args.progress, args.relationship, args.recommend) {
        (Some(progress), Some(relationship), Some(recommend)) => NewSurvey {
            progress: progress.into(),
            relationship: relationship.into(),
            recommend: recommend.into(),
            comment: args.comment,
        },
        _ if std::io::stdin().is_terminal() && !ctx.json => ask()?,
        _ => return Err(incomplete().into()),
    };
    let summary = format!(
        "progress {}, relationship {}, recommend {}",
        answers.progress, answers.relationship, answers.recommend
    );
    let home = ctx.home()?;
    let mut opened = ctx.workspace(&home)?;
    let me = opened.ws.me().and_then(|me| opened.ws.participant(me));
    if !me.is_some_and(|p| matches!(p.role, Role::Mentor | Role::Mentee)) {
        bail!("only the mentor and the mentee answer the pulse survey");
    }
    let key = opened.ws.answer_survey(answers, today_in_utc(ctx.now))?;
    home.save(&mut opened)?;
    let answer = opened.ws.surveys().into_iter().find(|s| s.id == key);
    let period = answer.as_ref().map_or(0, |a| a.period);
    if ctx.json {
        return ctx.print_json(&answer);
    }
    ctx.say(format!(
        "Recorded your pulse survey for period {period}: {summary}."
    ));
    Ok(())
}

/// The usage error of `tandem survey` without its answers and without a terminal to ask them
/// in.
fn incomplete() -> clap::Error {
    let mut survey =
        SurveyArgs::augment_args(clap::Command::new("survey")).bin_name("tandem survey");
    survey.error(
        clap::error::ErrorKind::MissingRequiredArgument,
        "give --progress, --relationship and --recommend (each from 1 to 5), or run `tandem \
         survey` in a terminal to be asked",
    )
}

/// Ask the three questions and a comment on the terminal.
fn ask() -> Result<NewSurvey> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut read_line = |prompt: &str| -> Result<String> {
        print!("{prompt}");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            bail!("the survey was not finished: no answer was given");
        }
        Ok(answer.trim().to_string())
    };
    let mut scores = [0_i64; 3];
    for (question, score) in QUESTIONS.iter().zip(scores.iter_mut()) {
        *score = loop {
            let answer = read_line(&format!("{question} (1-5): "))?;
            match values::rating(&answer) {
                Ok(n) => break n.into(),
                Err(e) => println!("  {e}"),
            }
        };
    }
    let comment = read_line("A word on why (optional): ")?;
    Ok(NewSurvey {
        progress: scores[0],
        relationship: scores[1],
        recommend: scores[2],
        comment: (!comment.is_empty()).then_some(comment),
    })
}

/// `tandem survey --show`: every answer not archived, by period.
fn show(ctx: &Context) -> Result<()> {
    let p = paint(ctx);
    let (_, o) = read(ctx)?;
    let empty = "No pulse survey answers yet. Answer with: tandem survey";
    list_items(ctx, o.surveys(), false, empty, |s| {
        let comment = if s.comment.trim().is_empty() {
            String::new()
        } else {
            format!(" — {}", line(&first_line(&s.comment, 60)))
        };
        let at = s.at.as_ref().map(|a| a.to_string()).unwrap_or_default();
        println!(
            "  period {}  {}  progress {} · relationship {} · recommend {}{comment}  {}",
            s.period,
            p.bold(&s.name),
            s.progress,
            s.relationship,
            s.recommend,
            p.dim(&at)
        );
    })
}
