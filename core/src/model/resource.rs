//! Resources: links the pair wants to keep, with a note on why.

use super::draft::{Draft, Field};
use super::fields::get_string;
use super::{required, Kind, Meta, Workspace};
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

/// Changes to a resource's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ResourceChanges {
    pub title: Option<String>,
    pub url: Option<String>,
    pub note: Option<String>,
}

impl Workspace {
    /// Add a resource; returns its id.
    pub fn add_resource(&mut self, title: &str, url: &str, note: Option<&str>) -> Result<ItemId> {
        let draft = Draft::resource(title, url, note)?;
        self.insert(&draft)
    }

    /// Change a resource's fields; only the given ones are written.
    pub fn set_resource(&mut self, id: &ItemId, changes: ResourceChanges) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(t) = changes.title {
            fields.push(Field::Str("title", Some(required("title", &t)?)));
        }
        if let Some(u) = changes.url {
            fields.push(Field::Str("url", Some(required("url", &u)?)));
        }
        if let Some(n) = changes.note {
            fields.push(Field::Text("note", n));
        }
        self.update_item(Kind::Resource, id, &fields, "--title, --url, --note")
    }

    /// One resource by full id.
    pub fn resource(&self, id: &ItemId) -> Result<Resource> {
        let obj = self.item(Kind::Resource, id)?;
        Ok(self.read_resource(id, &obj))
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
