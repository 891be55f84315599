//! Bundles: a workspace's changes in one file, for a USB stick or a LAN share.
//!
//! A bundle carries the whole compacted document, so importing is a merge: importing the same
//! bundle twice, or an older bundle after a newer one, adds nothing and loses nothing. The file is
//! `TANDEM-BUNDLE/1\n`, a CBOR map `{v, workspace, title, exported_at, doc}`, and the SHA-256 of
//! everything before it, so a truncated or damaged copy is rejected before anything is stored.

use crate::{Error, Result};
use minicbor::data::Type;
use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"TANDEM-BUNDLE/1\n";
const BUNDLE_VERSION: u64 = 1;

/// The contents of a bundle file.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The workspace's document id.
    pub workspace: String,
    /// The workspace's title when exported, to show before importing.
    pub title: String,
    /// When the bundle was made (RFC 3339).
    pub exported_at: String,
    /// The document as `automerge::AutoCommit::save` wrote it.
    pub doc: Vec<u8>,
}

impl Bundle {
    /// Encode as the bundle file format.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let mut enc = minicbor::Encoder::new(&mut out);
        // Writing to a Vec cannot fail.
        let _ = enc
            .map(5)
            .and_then(|e| e.str("v")?.u64(BUNDLE_VERSION))
            .and_then(|e| e.str("workspace")?.str(&self.workspace))
            .and_then(|e| e.str("title")?.str(&self.title))
            .and_then(|e| e.str("exported_at")?.str(&self.exported_at))
            .and_then(|e| e.str("doc")?.bytes(&self.doc));
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Decode a bundle file, checking its integrity first.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if !bytes.starts_with(MAGIC) {
            if bytes.starts_with(b"TANDEM-BUNDLE/") {
                return Err(Error::BadBundle(
                    "it was made by a newer tandem; upgrade tandem to import it".into(),
                ));
            }
            return Err(Error::BadBundle("it is not a tandem bundle".into()));
        }
        if bytes.len() < MAGIC.len() + 32 {
            return Err(Error::BadBundle("it is truncated".into()));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(Error::BadBundle(
                "its checksum does not match (the file is truncated or damaged)".into(),
            ));
        }
        let bundle = decode_body(&body[MAGIC.len()..])
            .map_err(|e| Error::BadBundle(format!("its contents are malformed ({e})")))?;
        if crate::store::DocRef::from_stored(&bundle.workspace).is_some_and(|d| d.is_private()) {
            return Err(Error::BadBundle(
                "it holds private notes, which are never shared".into(),
            ));
        }
        // The id becomes part of storage keys, so only a real automerge-repo document id is
        // accepted; anything else could address another document's chunks.
        if bundle
            .workspace
            .parse::<crate::protocol::DocumentId>()
            .is_err()
        {
            return Err(Error::BadBundle(format!(
                "its workspace id '{}' is not a document id",
                crate::model::first_line(&bundle.workspace, 40)
            )));
        }
        Ok(bundle)
    }
}

fn decode_body(body: &[u8]) -> std::result::Result<Bundle, minicbor::decode::Error> {
    let mut dec = minicbor::Decoder::new(body);
    let len = dec
        .map()?
        .ok_or_else(|| minicbor::decode::Error::message("indefinite map"))?;
    let (mut workspace, mut title, mut exported_at, mut doc) = (None, None, None, None);
    for _ in 0..len {
        match dec.str()? {
            "v" => {
                let v = dec.u64()?;
                if v != BUNDLE_VERSION {
                    return Err(minicbor::decode::Error::message("unknown bundle version"));
                }
            }
            "workspace" => workspace = Some(dec.str()?.to_string()),
            "title" => title = Some(dec.str()?.to_string()),
            "exported_at" => exported_at = Some(dec.str()?.to_string()),
            "doc" => doc = Some(dec.bytes()?.to_vec()),
            _ => {
                if dec.datatype()? == Type::Break {
                    return Err(minicbor::decode::Error::message("unexpected break"));
                }
                dec.skip()?
            }
        }
    }
    let missing = |f: &'static str| minicbor::decode::Error::message(f);
    Ok(Bundle {
        workspace: workspace.ok_or_else(|| missing("no workspace id"))?,
        title: title.unwrap_or_default(),
        exported_at: exported_at.unwrap_or_default(),
        doc: doc.ok_or_else(|| missing("no document"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            workspace: "4NMNnkMhL8jXrdJ9jamS58PAVdXu".into(),
            title: "Ana & Ben".into(),
            exported_at: "2026-11-28T10:00:00Z".into(),
            doc: vec![1, 2, 3, 4],
        }
    }

    #[test]
    fn a_bundle_round_trips() {
        assert_eq!(Bundle::decode(&sample().encode()).unwrap(), sample());
    }

    #[test]
    fn every_truncation_of_a_bundle_is_rejected() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(Bundle::decode(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn a_flipped_byte_is_rejected() {
        let mut bytes = sample().encode();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        assert!(matches!(Bundle::decode(&bytes), Err(Error::BadBundle(_))));
    }

    #[test]
    fn a_bundle_whose_workspace_id_is_not_a_document_id_is_rejected() {
        for id in ["", "../../etc", "4NMNnkMhL8jXrdJ9jamS58PAVdXu/snapshot"] {
            let bytes = Bundle {
                workspace: id.into(),
                ..sample()
            }
            .encode();
            assert!(
                matches!(Bundle::decode(&bytes), Err(Error::BadBundle(_))),
                "{id:?} was accepted"
            );
        }
    }

    #[test]
    fn other_files_are_not_bundles() {
        let err = Bundle::decode(b"hello world").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bundle is unreadable: it is not a tandem bundle"
        );
    }
}
