//! Walking an instance's chain of manifests, as an auditor would: each one
//! parses, is of its instance and date, links to the SHA-256 of the one
//! before, with no day missing; the newest is the head the state table
//! recorded; and every object listed is still in S3 with its bytes.

use std::collections::HashMap;

use serde::Serialize;

use super::{FORMAT, Manifest, sha256_hex};
use crate::sink::ExistingObject;

/// What is wrong with a chain or an object it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainProblem {
    pub instance: String,
    /// The manifest (or object) the problem is found at.
    pub key: String,
    pub problem: String,
}

/// Checks `stored` (an instance's manifests as (key, bytes), in key order,
/// which is date order) against each other and against `head`, the date
/// and SHA-256 the state table recorded last; then every object of the
/// chain against `objects` (S3's HEAD answers by key, `None`: absent).
/// Returns the manifests that parsed, and the problems.
pub fn check_chain(
    instance: &str,
    stored: &[(String, Vec<u8>)],
    head: Option<(&str, &str)>,
    objects: &HashMap<String, Option<ExistingObject>>,
) -> (Vec<Manifest>, Vec<ChainProblem>) {
    let mut problems = Vec::new();
    let mut problem = |key: &str, text: String| {
        problems.push(ChainProblem {
            instance: instance.to_owned(),
            key: key.to_owned(),
            problem: text,
        })
    };
    let mut parsed: Vec<Manifest> = Vec::new();
    let mut previous: Option<(String, String, String)> = None; // (date, key, sha)
    for (key, bytes) in stored {
        let sha = sha256_hex(bytes);
        let manifest: Manifest = match serde_json::from_slice(bytes) {
            Ok(m) => m,
            Err(e) => {
                problem(key, format!("not a manifest: {e}"));
                previous = None;
                continue;
            }
        };
        if manifest.format != FORMAT || manifest.instance != instance {
            problem(
                key,
                format!(
                    "format {:?} of instance {:?}, not {FORMAT:?} of {instance:?}",
                    manifest.format, manifest.instance
                ),
            );
        }
        if !key.ends_with(&format!("/{}.json", manifest.date)) {
            problem(key, format!("says date {}, not its key's", manifest.date));
        }
        match (&previous, &manifest.previous) {
            (None, None) if parsed.is_empty() => {}
            (Some((date, prev_key, prev_sha)), Some(link)) => {
                if &link.sha256 != prev_sha || &link.key != prev_key {
                    problem(
                        key,
                        format!(
                            "links to {} with SHA-256 {}, but {prev_key} hashes to {prev_sha}: \
                             the earlier manifest was changed or replaced",
                            link.key, link.sha256
                        ),
                    );
                }
                let expected = date
                    .parse::<jiff::civil::Date>()
                    .ok()
                    .and_then(|d| d.tomorrow().ok())
                    .map(|d| d.to_string());
                if expected.as_deref() != Some(manifest.date.as_str()) {
                    problem(
                        key,
                        format!("follows {date}: the manifests in between are missing (deleted?)"),
                    );
                }
            }
            (_, Some(link)) => problem(
                key,
                format!(
                    "links to {} ({}), which is not in S3 before it: the earlier manifests \
                     were deleted",
                    link.key, link.date
                ),
            ),
            (_, None) => problem(
                key,
                "starts a new chain in the middle of one: the manifest was replaced".to_owned(),
            ),
        }
        previous = Some((manifest.date.clone(), key.clone(), sha));
        parsed.push(manifest);
    }
    match (head, &previous) {
        (Some((date, sha)), Some((last_date, last_key, last_sha)))
            if date != last_date || sha != last_sha =>
        {
            problem(
                last_key,
                format!(
                    "the newest manifest is {last_date} with SHA-256 {last_sha}, but the state \
                     table recorded {date} with {sha}: manifests were deleted or the newest was \
                     changed"
                ),
            );
        }
        (Some((date, _)), None) => problem(
            "-",
            format!("the state table recorded a manifest for {date}, and S3 holds none"),
        ),
        _ => {}
    }
    // The newest listing of each key must match S3 exactly, unless the
    // object holds a later version since (a later day lists it).
    let mut newest: HashMap<&str, (&Manifest, &super::ManifestObject)> = HashMap::new();
    for manifest in &parsed {
        for object in &manifest.objects {
            newest.insert(&object.key, (manifest, object));
        }
    }
    let mut keys: Vec<&&str> = newest.keys().collect();
    keys.sort();
    for key in keys {
        let (manifest, listed) = newest[*key];
        match objects.get(*key).cloned().flatten() {
            None => problem(
                key,
                format!(
                    "listed in the {} manifest; S3 has no object at the key",
                    manifest.date
                ),
            ),
            Some(object) => {
                let same = object.bytes == listed.stored_bytes
                    && object.crc32c.as_deref() == Some(listed.stored_crc32c.as_str());
                let later = object.last_written_ms.is_some_and(|lw| {
                    lw > listed.last_written_ms && object.bytes > listed.stored_bytes
                });
                if !same && !later {
                    problem(
                        key,
                        format!(
                            "S3 holds {} bytes with CRC32C {}; the {} manifest lists {} bytes \
                             with {}",
                            object.bytes,
                            object.crc32c.as_deref().unwrap_or("none"),
                            manifest.date,
                            listed.stored_bytes,
                            listed.stored_crc32c
                        ),
                    );
                }
            }
        }
    }
    (parsed, problems)
}
