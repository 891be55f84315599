//! Notes: free text, optionally about a goal, with tags. Private notes use the same shape in a
//! document of their own that never leaves the device.

use super::draft::{tags, Draft, Field};
use super::fields::{check_size, get_bool, get_map, get_string, keys, set_text};
use super::{Kind, Meta, Workspace, PRIVATE_KIND};
use crate::model::ItemId;
use crate::Result;
use automerge::{ObjId, ROOT};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub id: ItemId,
    pub title: String,
    pub body: String,
    pub goal: Option<ItemId>,
    pub tags: Vec<String>,
    pub private: bool,
    #[serde(flatten)]
    pub meta: Meta,
}

/// Changes to a note's fields; `None` leaves a field alone. The goal is a full id.
#[derive(Debug, Clone, Default)]
pub struct NoteChanges {
    pub title: Option<String>,
    pub body: Option<String>,
    pub goal: Option<ItemId>,
    pub tags: Option<Vec<String>>,
}

/// A new note.
#[derive(Debug, Clone, Default)]
pub struct NewNote {
    pub title: Option<String>,
    pub body: String,
    pub goal: Option<ItemId>,
    pub tags: Vec<String>,
}

impl Workspace {
    /// Add a note; returns its id.
    pub fn add_note(&mut self, note: NewNote) -> Result<ItemId> {
        let draft = Draft::note(&note)?;
        self.insert(&draft)
    }

    /// Replace a note's body with `body`, merged as a text diff.
    pub fn edit_note_body(&mut self, id: &ItemId, body: &str) -> Result<()> {
        check_size("note body", body)?;
        let obj = self.item(Kind::Note, id)?;
        set_text(&mut self.doc, &obj, "body", body)?;
        let label = self.label(Kind::Note, id);
        self.commit(format!("edited {label}"));
        Ok(())
    }

    /// Change a note's fields; only the given ones are written. Tags, when given, become the
    /// note's whole set of tags.
    pub fn set_note(&mut self, id: &ItemId, changes: NoteChanges) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(t) = changes.title {
            fields.push(Field::Str("title", Some(t.trim().to_string())));
        }
        if let Some(b) = changes.body {
            fields.push(Field::Text("body", b));
        }
        if let Some(g) = changes.goal {
            fields.push(Field::Str("goal", Some(g.to_string())));
        }
        if let Some(t) = changes.tags {
            fields.push(Field::Flags("tags", tags(&t)));
        }
        self.update_item(Kind::Note, id, &fields, "--title, --goal, --tag")
    }

    fn read_note(&self, id: &str, obj: &ObjId) -> Note {
        let tags = get_map(&self.doc, obj, "tags")
            .map(|t| {
                keys(&self.doc, &t)
                    .into_iter()
                    .filter(|k| get_bool(&self.doc, &t, k))
                    .collect()
            })
            .unwrap_or_default();
        let kind = get_string(&self.doc, &ROOT, "kind");
        Note {
            id: ItemId::from_stored(id),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            body: get_string(&self.doc, obj, "body").unwrap_or_default(),
            goal: get_string(&self.doc, obj, "goal").map(ItemId::from_stored),
            tags,
            private: kind.as_deref() == Some(PRIVATE_KIND),
            meta: self.meta(obj),
        }
    }

    /// One note by full id.
    pub fn note(&self, id: &ItemId) -> Result<Note> {
        let obj = self.item(Kind::Note, id)?;
        Ok(self.read_note(id, &obj))
    }

    /// Every note, oldest first.
    pub fn notes(&self) -> Vec<Note> {
        self.read_all(Kind::Note, |ws, id, obj| ws.read_note(id, obj))
    }
}
