//! One module per command group, each owning its flags; `crate::cli` gathers them and dispatches.
//!
//! Item commands share their plumbing (opening the workspace, reporting, the quick add path,
//! editing outside the store) through `shared`.

pub mod action;
pub mod bundle;
pub mod checkin;
pub mod conflicts;
pub mod demo;
pub mod export;
pub mod goal;
pub mod invite;
pub mod kudos;
pub mod log;
pub mod milestone;
pub mod note;
mod overview;
pub mod participant;
pub mod plan;
pub mod program;
pub mod progress;
pub mod resource;
pub mod rhythm;
mod shared;
pub mod survey;
pub mod sync;
pub mod workspaces;
