//! Resources: links the pair wants to keep, with a note on why.

use super::draft::Draft;
use super::fields::get_string;
use super::{Kind, Meta, Workspace};
use crate::model::ItemId;
use crate::Result;
use automerge::ObjId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    pub id: ItemId,
    pub title: String,
    pub url: String,
    pub note: String,
    #[serde(flatten)]
    pub meta: Meta,
}

impl Workspace {
    /// Add a resource; returns its id.
    pub fn add_resource(&mut self, title: &str, url: &str, note: Option<&str>) -> Result<ItemId> {
        let draft = Draft::resource(title, url, note)?;
        self.insert(&draft)
    }

    fn read_resource(&self, id: &str, obj: &ObjId) -> Resource {
        Resource {
            id: ItemId::from_stored(id),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            url: get_string(&self.doc, obj, "url").unwrap_or_default(),
            note: get_string(&self.doc, obj, "note").unwrap_or_default(),
            meta: self.meta(obj),
        }
    }

    /// Every resource, oldest first.
    pub fn resources(&self) -> Vec<Resource> {
        self.read_all(Kind::Resource, |ws, id, obj| ws.read_resource(id, obj))
    }
}
