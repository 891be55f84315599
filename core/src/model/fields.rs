//! Reading and writing single fields of the workspace document.
//!
//! Read this before touching how a string reaches the document. Human-written strings are
//! automerge Text so that two people's concurrent edits merge character by character; other
//! clients may write plain strings instead, so every reader accepts either.

use crate::model::time::{Stored, StoredForm};
use crate::Result;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};

/// A date or instant field, parsed when it can be (see [`Stored`]).
pub fn get_stored<T: StoredForm>(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<Stored<T>> {
    get_string(doc, obj, key).map(|s| Stored::from_stored(&s))
}

/// A string field, whether it is stored as Text or as a scalar string.
pub fn get_string(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok().flatten()? {
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
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

/// The map under `key`, created if it is missing.
pub fn ensure_map(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match get_map(doc, obj, key) {
        Some(id) => Ok(id),
        None => Ok(doc.put_object(obj, key, ObjType::Map)?),
    }
}

/// Set a human-written string field to `value` as Text.
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

/// Set a scalar string field (enums, dates, ids).
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
