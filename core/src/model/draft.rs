//! New items described once, written two ways.
//!
//! Read this before adding a field to a kind of item. A [`Draft`] lists the fields of a new goal,
//! note, check-in, action item or resource, already validated. [`crate::model::Workspace`] writes a
//! draft into a loaded document; [`crate::store::quick`] turns the same draft into an automerge
//! change without loading the document. Because both read one list, the two paths cannot drift
//! apart.

use crate::model::fields::check_size;
use crate::model::time::format_instant;
use crate::model::ItemId;
use crate::model::{
    first_line, required, resolve_owner_among, short, GoalStatus, Kind, NewAction, NewGoal, NewNote,
};
use crate::{Error, Result};
use jiff::civil::Date;
use jiff::Timestamp;

/// One field of a new item.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Prose, stored as automerge Text so that concurrent edits merge.
    Text(&'static str, String),
    /// A short field replaced as a whole (a title, a URL, an enum, a date, an id), stored as a
    /// scalar string; absent values are not written.
    Str(&'static str, Option<String>),
    /// A boolean.
    Bool(&'static str, bool),
    /// An empty map for later children (milestones, ratings).
    Map(&'static str),
    /// A map of flags set to `true` (note tags).
    Flags(&'static str, Vec<String>),
}

/// A validated new item: its kind, id, fields and the change message.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: Kind,
    pub id: ItemId,
    pub fields: Vec<Field>,
    pub message: String,
}

/// Who the participants are, as (id, name), for resolving owners.
pub type People = [(String, String)];

/// The title, due date and owner of something assigned to someone (a goal, an action item),
/// checked: a non-empty title, a real calendar date, an owner resolved among the participants.
fn assigned(
    title: &str,
    due: Option<Date>,
    owner: Option<&str>,
    people: &People,
) -> Result<(String, Option<String>, Option<String>)> {
    Ok((
        required("title", title)?,
        due.map(|d| d.to_string()),
        owner.map(|o| resolve_owner_among(people, o)).transpose()?,
    ))
}

impl Draft {
    /// A draft of `fields`, each within the size limit (see [`check_fields`]).
    fn new(kind: Kind, id: ItemId, message: String, fields: Vec<Field>) -> Result<Self> {
        check_fields(kind.noun(), &fields)?;
        Ok(Self {
            kind,
            id,
            fields,
            message,
        })
    }

    /// The fields every item starts with, before its own.
    pub fn header(me: Option<&str>, stamp: &str) -> Vec<Field> {
        vec![
            Field::Str("created_by", me.map(str::to_string)),
            Field::Str("created_at", Some(stamp.to_string())),
            Field::Bool("archived", false),
        ]
    }

    /// A new goal.
    pub fn goal(goal: &NewGoal, people: &People) -> Result<Self> {
        let (title, due, owner) = assigned(&goal.title, goal.due, goal.owner.as_deref(), people)?;
        let id = crate::model::new_item_id();
        Self::new(
            Kind::Goal,
            id.clone(),
            format!("added goal {} “{}”", short(&id), first_line(&title, 40)),
            vec![
                Field::Str("title", Some(title)),
                Field::Text("description", goal.description.clone().unwrap_or_default()),
                Field::Str("status", Some(GoalStatus::Open.to_string())),
                Field::Str("due", due),
                Field::Str("owner", owner),
                Field::Map("milestones"),
            ],
        )
    }

    /// A new note; its goal, if any, is a full id already.
    pub fn note(note: &NewNote) -> Result<Self> {
        let title = note.title.as_deref().unwrap_or_default().trim().to_string();
        if note.body.trim().is_empty() && title.is_empty() {
            return Err(Error::Invalid("a note needs a title or some text".into()));
        }
        let what = if title.is_empty() {
            note.body.as_str()
        } else {
            title.as_str()
        };
        let id = crate::model::new_item_id();
        let message = format!("added note {} “{}”", short(&id), first_line(what, 40));
        Self::new(
            Kind::Note,
            id,
            message,
            vec![
                Field::Str("title", Some(title)),
                Field::Text("body", note.body.clone()),
                Field::Str("goal", note.goal.as_deref().map(str::to_string)),
                Field::Flags("tags", tags(&note.tags)),
            ],
        )
    }

    /// A new check-in at `at`, stored to the second (see [`crate::model::time`]), with an agenda
    /// and, when given, the link to the meeting.
    pub fn checkin(at: Timestamp, agenda: &str, link: Option<&str>) -> Result<Self> {
        let at = format_instant(at);
        let link = link.map(|l| required("meeting link", l)).transpose()?;
        let id = crate::model::new_item_id();
        Self::new(
            Kind::CheckIn,
            id.clone(),
            format!("scheduled check-in {} at {at}", short(&id)),
            vec![
                Field::Str("at", Some(at)),
                Field::Text("agenda", agenda.to_string()),
                Field::Text("notes", String::new()),
                Field::Str("meeting_link", link),
                Field::Map("ratings"),
            ],
        )
    }

    /// A new action item; its goal and check-in, if any, are full ids already.
    pub fn action(action: &NewAction, people: &People) -> Result<Self> {
        let (title, due, owner) =
            assigned(&action.title, action.due, action.owner.as_deref(), people)?;
        let id = crate::model::new_item_id();
        Self::new(
            Kind::Action,
            id.clone(),
            format!("added action {} “{}”", short(&id), first_line(&title, 40)),
            vec![
                Field::Str("title", Some(title)),
                Field::Str("owner", owner),
                Field::Str("due", due),
                Field::Str("goal", action.goal.as_deref().map(str::to_string)),
                Field::Str("checkin", action.checkin.as_deref().map(str::to_string)),
                Field::Bool("done", false),
            ],
        )
    }

    /// A new resource.
    pub fn resource(title: &str, url: &str, note: Option<&str>) -> Result<Self> {
        let title = required("title", title)?;
        let url = required("url", url)?;
        let id = crate::model::new_item_id();
        Self::new(
            Kind::Resource,
            id.clone(),
            format!("added resource {} “{}”", short(&id), first_line(&title, 40)),
            vec![
                Field::Str("title", Some(title)),
                Field::Str("url", Some(url)),
                Field::Text("note", note.unwrap_or("").to_string()),
            ],
        )
    }
}

/// Note tags as stored: trimmed, blank ones dropped.
pub fn tags(typed: &[String]) -> Vec<String> {
    typed
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Check that every string among `fields` of an item called `noun` is within
/// [`crate::model::fields::MAX_TEXT_BYTES`]; the error names the field (`the note body is 6.0 MiB, …`).
pub fn check_fields(noun: &str, fields: &[Field]) -> Result<()> {
    for field in fields {
        match field {
            Field::Text(key, value) | Field::Str(key, Some(value)) => {
                check_size(&format!("{noun} {key}"), value)?
            }
            Field::Flags(key, flags) => {
                for flag in flags {
                    check_size(&format!("{noun} {key}"), flag)?;
                }
            }
            Field::Str(_, None) | Field::Bool(..) | Field::Map(_) => {}
        }
    }
    Ok(())
}
