//! Reading and writing single fields of the workspace document.
//!
//! Read this before touching how a string reaches the document. Prose (descriptions, note bodies,
//! agendas, check-in notes, comments) is automerge Text, so that two people's concurrent edits
//! merge character by character. Short fields that people replace as a whole (titles, names,
//! owners, URLs, links, statuses, dates) are scalar strings, so that two concurrent rewrites are a
//! conflict that shows both values instead of a mix of the two. Other clients and older versions
//! of tandem may write either form in any field, so every reader accepts either, and every writer
//! replaces the other form.
//!
//! No string tandem writes may exceed [`MAX_TEXT_BYTES`]; a longer one from another client is
//! kept in the document but read only up to that limit, so one pasted book never makes every
//! list slow.

use crate::model::time::{Stored, StoredForm};
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{
    AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef,
};

/// A date or instant field, parsed when it can be (see [`Stored`]).
pub fn get_stored<T: StoredForm>(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<Stored<T>> {
    get_string(doc, obj, key).map(|s| Stored::from_stored(&s))
}

/// The most one string field may hold, in bytes of UTF-8: 256 KiB. tandem refuses to write more
/// (see [`check_size`]) and reads no more than this of a longer field another client wrote.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Refuse a string longer than [`MAX_TEXT_BYTES`], with a message that names the field `what` and
/// says where large material belongs.
pub fn check_size(what: &str, value: &str) -> Result<()> {
    if value.len() <= MAX_TEXT_BYTES {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the {what} is {}, over the limit of {} for one field; put large material in a file or \
         a page and link it with `tandem resource add TITLE URL`",
        human_size(value.len()),
        human_size(MAX_TEXT_BYTES)
    )))
}

/// A size in bytes as a person reads it: `812 B`, `256 KiB`, `6.0 MiB`.
pub fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < MIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

/// A string field, whether it is stored as Text or as a scalar string, cut to at most
/// [`MAX_TEXT_BYTES`] (see [`oversized`] for which fields were cut).
pub fn get_string(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok().flatten()? {
        (Value::Object(ObjType::Text), id) => Some(text_prefix(doc, &id)),
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(cut_at_char(s, MAX_TEXT_BYTES).to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The content of a Text object up to [`MAX_TEXT_BYTES`]. Only that much is read: a 6 MB note
/// costs no more to list than a 256 KiB one.
fn text_prefix(doc: &AutoCommit, text: &ObjId) -> String {
    // With automerge's UTF-8 indexing, a Text object's length is its size in bytes.
    if doc.length(text) <= MAX_TEXT_BYTES {
        return doc.text(text).unwrap_or_default();
    }
    let mut out = String::new();
    for item in doc.list_range(text, ..) {
        if let ValueRef::Scalar(ScalarValueRef::Str(piece)) = &item.value {
            if out.len() + piece.len() > MAX_TEXT_BYTES {
                break;
            }
            out.push_str(piece);
        }
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A string field longer than [`MAX_TEXT_BYTES`], which readers show cut.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Oversized {
    /// The field's key.
    pub field: String,
    /// Its whole size in bytes.
    pub bytes: usize,
}

/// The string fields of the map `obj` that are longer than [`MAX_TEXT_BYTES`]. Only tandem's
/// readers cut them; the document keeps every byte.
pub fn oversized(doc: &AutoCommit, obj: &ObjId) -> Vec<Oversized> {
    doc.map_range(obj, ..)
        .filter_map(|item| {
            let bytes = match &item.value {
                ValueRef::Object(ObjType::Text) => doc.length(item.id()),
                ValueRef::Scalar(ScalarValueRef::Str(s)) => s.len(),
                _ => 0,
            };
            (bytes > MAX_TEXT_BYTES).then(|| Oversized {
                field: item.key.to_string(),
                bytes,
            })
        })
        .collect()
}

/// A boolean field; absent or any other type reads as `false`.
pub fn get_bool(doc: &AutoCommit, obj: &ObjId, key: &str) -> bool {
    matches!(
        doc.get(obj, key).ok().flatten(),
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Boolean(true))
    )
}

/// An integer field, accepting the integer and float forms other clients may write.
pub fn get_int(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<i64> {
    match doc.get(obj, key).ok().flatten()? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Int(i) => Some(*i),
            ScalarValue::Uint(u) => i64::try_from(*u).ok(),
            ScalarValue::F64(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        },
        _ => None,
    }
}

/// The map stored under `key`, if there is one.
pub fn get_map(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok().flatten()? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// Every map stored under `key`, the winning one first. Two devices that each create a missing
/// map at the same key make a conflict with two maps; reading the collections that older
/// documents lack (surveys, kudos, career steps, settings) through all of them keeps what either
/// device added.
pub fn get_all_maps(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<ObjId> {
    let winner = get_map(doc, obj, key);
    let mut all: Vec<ObjId> = winner.iter().cloned().collect();
    for (value, id) in doc.get_all(obj, key).unwrap_or_default() {
        if matches!(value, Value::Object(ObjType::Map)) && Some(&id) != winner.as_ref() {
            all.push(id);
        }
    }
    all
}

/// The map under `key`, created if it is missing.
pub fn ensure_map(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match get_map(doc, obj, key) {
        Some(id) => Ok(id),
        None => Ok(doc.put_object(obj, key, ObjType::Map)?),
    }
}

/// Set a prose field to `value` as Text.
///
/// When the field already holds Text, only the difference is applied (automerge's grapheme-level
/// diff), so a concurrent edit of another part of the same text survives the merge. A scalar
/// string written by another client is replaced by Text holding the new value.
pub fn set_text(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &str) -> Result<()> {
    if let Some((Value::Object(ObjType::Text), id)) = doc.get(obj, key)? {
        doc.update_text(&id, value)?;
        return Ok(());
    }
    let text = doc.put_object(obj, key, ObjType::Text)?;
    doc.splice_text(&text, 0, 0, value)?;
    Ok(())
}

/// Set a short field (a title, a name, a URL, an enum, a date, an id) to the scalar string `value`.
///
/// The new value replaces whatever the field held as a whole, including a Text object that an
/// older version of tandem or another client wrote there, so two concurrent writes are a conflict
/// rather than a merge of both.
pub fn set_str(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &str) -> Result<()> {
    doc.put(obj, key, value)?;
    Ok(())
}

/// Set or clear an optional scalar string field.
pub fn set_opt_str(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    match value {
        Some(v) => set_str(doc, obj, key, v),
        None => {
            if doc.get(obj, key)?.is_some() {
                doc.delete(obj, key)?;
            }
            Ok(())
        }
    }
}

/// The keys of a map, in key order.
pub fn keys(doc: &AutoCommit, obj: &ObjId) -> Vec<String> {
    doc.keys(obj).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ROOT;

    #[test]
    fn strings_read_the_same_from_text_and_from_scalars() {
        let mut doc = AutoCommit::new();
        set_text(&mut doc, &ROOT, "a", "café ☕ notes").unwrap();
        doc.put(ROOT, "b", "plain").unwrap();
        assert_eq!(get_string(&doc, &ROOT, "a").unwrap(), "café ☕ notes");
        assert_eq!(get_string(&doc, &ROOT, "b").unwrap(), "plain");
        assert_eq!(get_string(&doc, &ROOT, "missing"), None);
    }

    #[test]
    fn editing_text_with_multibyte_characters_keeps_it_intact() {
        let mut doc = AutoCommit::new();
        set_text(&mut doc, &ROOT, "a", "café ☕ notes").unwrap();
        set_text(&mut doc, &ROOT, "a", "café ☕☕ good notes ✓").unwrap();
        assert_eq!(
            get_string(&doc, &ROOT, "a").unwrap(),
            "café ☕☕ good notes ✓"
        );
    }

    #[test]
    fn concurrent_edits_of_one_text_both_survive() {
        let mut base = AutoCommit::new();
        set_text(&mut base, &ROOT, "body", "We met today. Next steps follow.").unwrap();
        base.commit();
        let mut mentor = base.fork();
        let mut mentee = base.fork();
        set_text(
            &mut mentor,
            &ROOT,
            "body",
            "We met today at noon. Next steps follow.",
        )
        .unwrap();
        set_text(
            &mut mentee,
            &ROOT,
            "body",
            "We met today. Next steps follow: read ch. 4.",
        )
        .unwrap();
        mentor.merge(&mut mentee).unwrap();
        assert_eq!(
            get_string(&mentor, &ROOT, "body").unwrap(),
            "We met today at noon. Next steps follow: read ch. 4."
        );
    }

    #[test]
    fn a_text_title_from_an_older_version_is_replaced_by_a_scalar_when_set() {
        let mut doc = AutoCommit::new();
        set_text(&mut doc, &ROOT, "title", "old").unwrap();
        set_str(&mut doc, &ROOT, "title", "new").unwrap();
        assert!(matches!(
            doc.get(ROOT, "title").unwrap(),
            Some((Value::Scalar(_), _))
        ));
        assert_eq!(get_string(&doc, &ROOT, "title").unwrap(), "new");
    }

    #[test]
    fn long_text_is_read_only_up_to_the_limit_and_reported_as_oversized() {
        let mut doc = AutoCommit::new();
        let big = "ab€".repeat(MAX_TEXT_BYTES / 5 * 2);
        set_text(&mut doc, &ROOT, "body", &big).unwrap();
        doc.put(ROOT, "title", big.as_str()).unwrap();
        set_text(&mut doc, &ROOT, "short", "fine").unwrap();
        for key in ["body", "title"] {
            let read = get_string(&doc, &ROOT, key).unwrap();
            assert!(read.len() <= MAX_TEXT_BYTES && read.len() > MAX_TEXT_BYTES - 4);
            assert!(big.starts_with(&read));
        }
        let mut cut = oversized(&doc, &ROOT);
        cut.sort_by(|a, b| a.field.cmp(&b.field));
        assert_eq!(
            cut,
            [
                Oversized {
                    field: "body".into(),
                    bytes: big.len()
                },
                Oversized {
                    field: "title".into(),
                    bytes: big.len()
                }
            ]
        );
        assert!(check_size("note body", &big)
            .unwrap_err()
            .to_string()
            .contains("over the limit of 256 KiB"));
        assert!(check_size("note body", "fine").is_ok());
    }

    #[test]
    fn a_scalar_string_from_another_client_becomes_text_when_edited() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "title", "old").unwrap();
        set_text(&mut doc, &ROOT, "title", "new").unwrap();
        assert!(matches!(
            doc.get(ROOT, "title").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
        assert_eq!(get_string(&doc, &ROOT, "title").unwrap(), "new");
    }

    #[test]
    fn numbers_read_from_any_numeric_form() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "i", 4_i64).unwrap();
        doc.put(ROOT, "u", 3_u64).unwrap();
        doc.put(ROOT, "f", 5.0_f64).unwrap();
        assert_eq!(get_int(&doc, &ROOT, "i"), Some(4));
        assert_eq!(get_int(&doc, &ROOT, "u"), Some(3));
        assert_eq!(get_int(&doc, &ROOT, "f"), Some(5));
    }
}
