//! Daily manifests with a digest chain: for each instance and day, once
//! every version last written that day is shipped or known lost, one JSON
//! object lists what S3 holds of that day and carries the SHA-256 of the
//! previous day's manifest, so a deleted, changed or reordered object or
//! manifest is detectable (docs/manifests.md is the format). This file is
//! the plain rule: which days are due and what a manifest holds;
//! `check.rs` checks a chain, `writer.rs` writes them and `walk.rs` reads
//! one back from S3.

mod check;
mod walk;
mod writer;

pub use check::{ChainProblem, check_chain};
pub use walk::{ChainWalk, walk_chain};
pub use writer::{DailyManifests, ManifestArchive, ManifestReport, ManifestStore};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sink::ExistingObject;
use crate::version::FileState;

/// The format's name and version, the first field of every manifest.
pub const FORMAT: &str = "rds-log-shipper/manifest/1";

/// A day is closed this long after it ended (UTC): files last written just
/// before midnight reach the lister's next cycles first.
pub const GRACE_MS: i64 = 3_600_000;

/// Days one instance may close in one cycle: a new chain over a long
/// history is written over several cycles.
pub const MAX_DAYS_PER_RUN: usize = 31;

const DAY_MS: i64 = 86_400_000;

/// Where an instance's manifests live: beside the logs, in a folder Athena
/// skips (its name starts with `_`).
pub fn manifest_prefix(prefix: &str, instance: &str) -> String {
    format!("{prefix}/_manifests/{instance}/")
}

pub fn manifest_key(prefix: &str, instance: &str, date: Date) -> String {
    format!("{}{date}.json", manifest_prefix(prefix, instance))
}

/// The UTC day of a time in milliseconds.
pub fn day_of(ms: i64) -> Date {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(TimeZone::UTC)
        .date()
}

fn day_start_ms(day: Date) -> i64 {
    day.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// The previous manifest of a chain: its key and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    pub date: String,
    pub key: String,
    pub sha256: String,
}

/// One object S3 held for the day when the manifest was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestObject {
    pub key: String,
    pub file: String,
    /// The log file's bytes the object holds (`null`: a compressed object
    /// of an earlier content, whose exact size is not on record).
    pub source_bytes: Option<u64>,
    pub stored_bytes: u64,
    /// Base64 CRC32C of the stored bytes, as S3 reports it.
    pub stored_crc32c: String,
    /// Base64 CRC32C of the log file's bytes (equal to `stored_crc32c`
    /// uncompressed; `null` when not on record).
    pub raw_crc32c: Option<String>,
    pub content_encoding: Option<String>,
    /// RDS's last-written time of the version, epoch milliseconds.
    pub last_written_ms: i64,
    /// When the worker recorded it shipped, if on record.
    pub shipped_at_ms: Option<i64>,
}

/// A version of the day RDS deleted or replaced before it shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostVersion {
    pub file: String,
    pub bytes: u64,
    pub last_written_ms: i64,
    pub detected_at_ms: i64,
}

/// One instance's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub instance: String,
    pub date: String,
    /// `null` for the first manifest of the instance's chain.
    pub previous: Option<ChainLink>,
    /// Sorted by key.
    pub objects: Vec<ManifestObject>,
    /// Sorted by file, then time.
    pub lost: Vec<LostVersion>,
}

impl Manifest {
    /// The bytes stored: the SHA-256 chain is over exactly these.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// Lowercase hex SHA-256 of a manifest's stored bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A stored object and the file it belongs to, as the writer found it.
#[derive(Debug, Clone)]
pub struct HeldObject {
    pub key: String,
    pub file: String,
    pub object: ExistingObject,
}

/// The days to close now, in order: from the day after `head` (or the
/// first day any object or loss of the instance was last written) to the
/// last day that ended `GRACE_MS` ago, stopping before the first day with
/// a version neither shipped nor lost, and at `MAX_DAYS_PER_RUN`.
pub fn due_days(
    head: Option<Date>,
    objects: &[HeldObject],
    files: &[FileState],
    now_ms: i64,
) -> Vec<Date> {
    let first = match head {
        Some(head) => head.tomorrow().ok(),
        None => objects
            .iter()
            .filter_map(|o| o.object.last_written_ms)
            .chain(
                files
                    .iter()
                    .filter_map(|f| f.lost_unshipped())
                    .map(|l| l.version.last_written_ms),
            )
            .min()
            .map(day_of),
    };
    // Nothing shipped or lost before this version: its day waits for it.
    let open_from = files
        .iter()
        .filter_map(FileState::unshipped)
        .map(|v| day_of(v.last_written_ms))
        .min();
    let mut days = Vec::new();
    let mut day = first;
    while let Some(d) = day {
        let closed = day_start_ms(d) + DAY_MS + GRACE_MS <= now_ms;
        if !closed || open_from.is_some_and(|open| open <= d) || days.len() >= MAX_DAYS_PER_RUN {
            break;
        }
        days.push(d);
        day = d.tomorrow().ok();
    }
    days
}

/// The manifest of `date`: the objects whose content was last written that
/// day, with what the state records of each, and the day's lost versions.
pub fn build(
    instance: &str,
    date: Date,
    previous: Option<ChainLink>,
    objects: &[HeldObject],
    files: &[FileState],
) -> Manifest {
    let mut listed: Vec<ManifestObject> = objects
        .iter()
        .filter_map(|held| {
            let object = &held.object;
            let last_written_ms = object.last_written_ms?;
            if day_of(last_written_ms) != date {
                return None;
            }
            let shipped = files
                .iter()
                .filter(|f| f.file == held.file)
                .filter_map(|f| f.shipped.as_ref())
                .find(|s| s.key == held.key && Some(&s.crc32c) == object.crc32c.as_ref());
            let plain = object.content_encoding.is_none();
            Some(ManifestObject {
                key: held.key.clone(),
                file: held.file.clone(),
                source_bytes: match shipped {
                    Some(s) => Some(s.version.size),
                    None => plain.then_some(object.bytes),
                },
                stored_bytes: object.bytes,
                stored_crc32c: object.crc32c.clone().unwrap_or_default(),
                raw_crc32c: match shipped {
                    Some(s) if !s.raw_crc32c.is_empty() => Some(s.raw_crc32c.clone()),
                    _ => plain.then(|| object.crc32c.clone()).flatten(),
                },
                content_encoding: object.content_encoding.clone(),
                last_written_ms,
                shipped_at_ms: shipped.map(|s| s.at_ms),
            })
        })
        .collect();
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    let mut lost: Vec<LostVersion> = files
        .iter()
        .filter_map(|f| Some((f, f.lost_unshipped()?)))
        .filter(|(_, l)| day_of(l.version.last_written_ms) == date)
        .map(|(f, l)| LostVersion {
            file: f.file.clone(),
            bytes: l.version.size,
            last_written_ms: l.version.last_written_ms,
            detected_at_ms: l.detected_ms,
        })
        .collect();
    lost.sort_by(|a, b| (&a.file, a.last_written_ms).cmp(&(&b.file, b.last_written_ms)));
    Manifest {
        format: FORMAT.to_owned(),
        instance: instance.to_owned(),
        date: date.to_string(),
        previous,
        objects: listed,
        lost,
    }
}

#[cfg(test)]
mod tests;
