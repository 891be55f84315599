//! Notes: free text, optionally about a goal, with tags. Private notes use the same shape in a
//! document of their own that never leaves the device.

use super::draft::Draft;
use super::fields::{get_bool, get_map, get_string, keys, set_text};
use super::{short, Kind, Meta, Workspace, PRIVATE_KIND};
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
        let obj = self.item(Kind::Note, id)?;
        set_text(&mut self.doc, &obj, "body", body)?;
        let label = self.label(Kind::Note, id);
        self.commit(format!("edited {label}"));
        Ok(())
    }

    /// Replace a note's title.
    pub fn set_note_title(&mut self, id: &ItemId, title: &str) -> Result<()> {
        let obj = self.item(Kind::Note, id)?;
        set_text(&mut self.doc, &obj, "title", title)?;
        self.commit(format!("retitled note {}", short(id)));
        Ok(())
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
