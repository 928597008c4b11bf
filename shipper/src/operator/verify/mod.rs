//! `rdslogs verify`: reconciles three views of an instance's logs, what RDS
//! lists now, what the state table says was shipped, and what S3 holds, into
//! one finding per file version. Read-only: it never changes anything.
//! This file is the plain rule; `run.rs` gathers the views.

mod run;

pub use run::{ArchiveObjects, KeptVersion, VerifyReport, VerifyRequest, verify};

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::operator::backfill::Window;
use crate::rds::ListedFile;
use crate::sink::ExistingObject;
use crate::version::{FileState, FileVersion};

/// What one file version's archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// S3's stored CRC32C and length equal the recorded ones.
    Intact,
    /// In S3, with no checksum on record to compare: an earlier content of
    /// a reused name (the state keeps only the latest shipped record).
    Present,
    /// Recorded as shipped, but S3 holds no object at the key.
    Missing,
    /// S3 holds other bytes than were recorded (or read back).
    Mismatch,
    /// Listed or enqueued, not shipped yet.
    Pending,
    /// Its last attempt failed (see `rdslogs dlq` and `status`).
    Failed,
    /// RDS deleted or replaced it before it shipped.
    Lost,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Intact => "intact",
            Verdict::Present => "present",
            Verdict::Missing => "MISSING",
            Verdict::Mismatch => "MISMATCH",
            Verdict::Pending => "pending",
            Verdict::Failed => "failed",
            Verdict::Lost => "lost",
        }
    }

    /// The archive lost or changed something it held.
    pub fn is_damage(self) -> bool {
        matches!(self, Verdict::Missing | Verdict::Mismatch)
    }
}

/// One file version and what its archive is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub instance: String,
    pub file: String,
    /// The S3 key, for a version that was shipped.
    pub key: Option<String>,
    pub size: Option<u64>,
    pub last_written_ms: Option<i64>,
    pub verdict: Verdict,
    pub detail: String,
}

/// What a read of an object back found: its stored bytes, and the log
/// file's own bytes once decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    pub stored_bytes: u64,
    pub stored_crc32c: String,
    pub raw_bytes: u64,
    pub raw_crc32c: String,
}

/// What S3 answered for each key (absent keys map to `None`).
pub type Objects = HashMap<String, Option<ExistingObject>>;

/// One instance's three views.
pub struct InstanceViews<'a> {
    pub instance: &'a str,
    /// `None` when RDS could not be asked (the instance is gone, or the
    /// call failed): nothing is pending by RDS's listing then.
    pub listed: Option<&'a [ListedFile]>,
    pub files: &'a [FileState],
}

/// Every key the state table says holds one of the files.
pub fn recorded_keys(files: &[FileState]) -> BTreeSet<String> {
    files
        .iter()
        .flat_map(|f| f.keys.iter().chain(f.shipped.as_ref().map(|s| &s.key)))
        .cloned()
        .collect()
}

/// One finding per version: shipped objects (the latest, checked against
/// its record; earlier keys, present or missing), lost, failed and pending
/// versions. `read_backs` holds what `--deep` read, by key.
pub fn reconcile(
    views: &InstanceViews<'_>,
    objects: &Objects,
    read_backs: &HashMap<String, ReadBack>,
    window: Option<Window>,
) -> Vec<Finding> {
    let in_window = |lw: Option<i64>| match (window, lw) {
        (Some(w), Some(lw)) => w.contains(lw),
        _ => true,
    };
    let mut findings = Vec::new();
    let finding = |file: &str, key: Option<&str>, version: Option<FileVersion>| Finding {
        instance: views.instance.to_owned(),
        file: file.to_owned(),
        key: key.map(str::to_owned),
        size: version.map(|v| v.size),
        last_written_ms: version.map(|v| v.last_written_ms),
        verdict: Verdict::Pending,
        detail: String::new(),
    };
    let mut known = BTreeSet::new();
    for file in views.files {
        known.insert(file.file.as_str());
        if let Some(shipped) = &file.shipped {
            let mut found = finding(&file.file, Some(&shipped.key), Some(shipped.version));
            (found.verdict, found.detail) = match objects.get(&shipped.key).cloned().flatten() {
                None => (
                    Verdict::Missing,
                    "recorded as shipped; S3 has no object at the key".to_owned(),
                ),
                Some(object) => check_object(&object, shipped, read_backs.get(&shipped.key)),
            };
            findings.push(found);
        }
        let latest = file.shipped.as_ref().map(|s| s.key.as_str());
        for key in file.keys.iter().filter(|k| Some(k.as_str()) != latest) {
            let object = objects.get(key).cloned().flatten();
            let mut found = finding(
                &file.file,
                Some(key),
                object.as_ref().and_then(|o| o.version()),
            );
            (found.verdict, found.detail) = match object {
                None => (
                    Verdict::Missing,
                    "an earlier content of this name; S3 has no object at the key".to_owned(),
                ),
                Some(object) => earlier_content(&object, read_backs.get(key)),
            };
            findings.push(found);
        }
        if let Some(lost) = file.lost_unshipped() {
            let mut found = finding(&file.file, None, Some(lost.version));
            found.verdict = Verdict::Lost;
            found.detail = "RDS deleted or replaced it before it shipped".to_owned();
            findings.push(found);
        }
        if let Some(unshipped) = file.unshipped() {
            let mut found = finding(&file.file, None, Some(unshipped));
            match file.failure.as_ref().filter(|f| f.version >= unshipped) {
                Some(failure) => {
                    found.verdict = Verdict::Failed;
                    found.detail = format!(
                        "{} failed attempt(s): {}",
                        failure.attempts, failure.last_error
                    );
                }
                None => found.detail = "enqueued, not shipped yet".to_owned(),
            }
            findings.push(found);
        } else if let Some(listed) = views
            .listed
            .and_then(|l| l.iter().find(|l| l.name == file.file))
            .filter(|l| !file.has_shipped(l.version) && !file.is_lost(l.version))
        {
            let mut found = finding(&file.file, None, Some(listed.version));
            found.detail = "listed by RDS, not enqueued yet".to_owned();
            findings.push(found);
        }
    }
    for listed in views.listed.unwrap_or_default() {
        if !known.contains(listed.name.as_str()) {
            let mut found = finding(&listed.name, None, Some(listed.version));
            found.detail = "listed by RDS, not seen by the lister yet".to_owned();
            findings.push(found);
        }
    }
    findings.retain(|f| in_window(f.last_written_ms));
    findings.sort_by(|a, b| {
        (&a.file, a.last_written_ms, &a.key).cmp(&(&b.file, b.last_written_ms, &b.key))
    });
    findings
}

/// The latest shipped object against its record, and against what was read
/// back when it was.
fn check_object(
    object: &ExistingObject,
    shipped: &crate::version::ShippedRecord,
    read_back: Option<&ReadBack>,
) -> (Verdict, String) {
    if object.crc32c.as_deref() != Some(shipped.crc32c.as_str())
        || object.bytes != shipped.stored_bytes
    {
        return (
            Verdict::Mismatch,
            format!(
                "S3 holds {} bytes with CRC32C {}; the state recorded {} bytes with {}",
                object.bytes,
                object.crc32c.as_deref().unwrap_or("none"),
                shipped.stored_bytes,
                shipped.crc32c
            ),
        );
    }
    match read_back {
        None => (
            Verdict::Intact,
            "S3's CRC32C equals the recorded one".to_owned(),
        ),
        Some(read) => {
            let raw_known = !shipped.raw_crc32c.is_empty();
            if read.stored_crc32c != shipped.crc32c || read.stored_bytes != shipped.stored_bytes {
                (
                    Verdict::Mismatch,
                    format!(
                        "read back {} bytes with CRC32C {}; recorded {} bytes with {}",
                        read.stored_bytes, read.stored_crc32c, shipped.stored_bytes, shipped.crc32c
                    ),
                )
            } else if raw_known
                && (read.raw_crc32c != shipped.raw_crc32c || read.raw_bytes != shipped.version.size)
            {
                (
                    Verdict::Mismatch,
                    format!(
                        "decompressed to {} bytes with CRC32C {}; the log file shipped {} bytes \
                         with {}",
                        read.raw_bytes, read.raw_crc32c, shipped.version.size, shipped.raw_crc32c
                    ),
                )
            } else {
                (
                    Verdict::Intact,
                    "read back: stored and log bytes match the recorded CRC32C".to_owned(),
                )
            }
        }
    }
}

/// An earlier content of a reused name: no record to compare with, but a
/// read back still shows whether S3 holds the bytes it says it does.
fn earlier_content(object: &ExistingObject, read_back: Option<&ReadBack>) -> (Verdict, String) {
    match read_back {
        Some(read) if object.crc32c.as_deref() != Some(read.stored_crc32c.as_str()) => (
            Verdict::Mismatch,
            format!(
                "read back CRC32C {}; S3 reports {}",
                read.stored_crc32c,
                object.crc32c.as_deref().unwrap_or("none")
            ),
        ),
        _ => (
            Verdict::Present,
            "an earlier content of this name; no checksum on record".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests;
