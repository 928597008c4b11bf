//! What a log file version is, what the state table remembers about a file,
//! and the diff rule that decides whether a listed version must be shipped.

use serde::{Deserialize, Serialize};

/// One observed version of a log file: RDS reports only size and last-written
/// time, so that pair is the version. Newer means later last-written, then larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileVersion {
    pub size: u64,
    /// Milliseconds since the Unix epoch, as `DescribeDBLogFiles` reports it.
    pub last_written_ms: i64,
}

impl FileVersion {
    pub fn new(size: u64, last_written_ms: i64) -> Self {
        Self {
            size,
            last_written_ms,
        }
    }

    /// Whether `later` can be this version after more writes: no fewer
    /// bytes, written no earlier. Anything else replaced this version's
    /// bytes (a rotation or a rewrite under the same name).
    pub fn may_grow_into(self, later: FileVersion) -> bool {
        later.size >= self.size && later.last_written_ms >= self.last_written_ms
    }
}

/// Two instances with the same identifier are the same incarnation unless
/// both `DbiResourceId`s are known and differ (a Blue/Green switchover, a
/// restore under the old name). Unknown ids come from records written
/// before ids were kept, and from tests.
pub fn same_incarnation(a: Option<&str>, b: Option<&str>) -> bool {
    a.is_none() || b.is_none() || a == b
}

impl Ord for FileVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.last_written_ms, self.size).cmp(&(other.last_written_ms, other.size))
    }
}

impl PartialOrd for FileVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A version of one log file of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFileVersion {
    pub instance: String,
    pub file: String,
    pub version: FileVersion,
    /// The instance's region when the lister covers several; `None` is the
    /// region the worker runs in.
    pub region: Option<String>,
    /// The instance's `DbiResourceId` when the lister listed it: a new
    /// incarnation under the same identifier has another one.
    pub incarnation: Option<String>,
}

/// What was last shipped of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedRecord {
    /// `size` is the byte count actually written to S3, which can exceed the
    /// listed size when the file grew during the download.
    pub version: FileVersion,
    /// The size the lister listed for this version.
    pub listed_size: u64,
    pub at_ms: i64,
    pub key: String,
    /// Bytes in S3: `version.size` unless the object is compressed.
    pub stored_bytes: u64,
    /// Base64 CRC32C of the stored bytes, as S3 reports it.
    pub crc32c: String,
    /// Base64 CRC32C of the log file's own bytes as shipped (before any
    /// compression): what a later version must start with to extend this
    /// one. Equal to `crc32c` for an uncompressed object; empty when unknown
    /// (a compressed object found in S3 without its state record).
    pub raw_crc32c: String,
    /// The `DbiResourceId` of the instance the bytes came from, if known.
    pub incarnation: Option<String>,
}

/// Whether bytes shipped as `shipped` (listed then as `listed_size` bytes)
/// hold the listed version `listed`: the same version, one that grew during
/// the download, or an older listing of the file. A version with the same
/// time and fewer bytes than were listed is a rewrite, not held.
pub fn holds(shipped: FileVersion, listed_size: u64, listed: FileVersion) -> bool {
    listed.last_written_ms < shipped.last_written_ms
        || (listed.last_written_ms == shipped.last_written_ms
            && (listed_size.min(shipped.size)..=shipped.size).contains(&listed.size))
}

impl ShippedRecord {
    /// Whether S3 holds `listed` through this record: the same version, one
    /// that grew during the download, or an older listing of the file.
    pub fn holds(&self, listed: FileVersion) -> bool {
        holds(self.version, self.listed_size, listed)
    }

    /// Whether recording `next` moves the state forward from this record:
    /// a later version, more bytes of the same one, the same time with
    /// other bytes (which the worker put under another key), or another
    /// incarnation. The DynamoDB table states the same rule as a condition.
    pub fn is_replaced_by(&self, next: &ShippedRecord) -> bool {
        let (old, new) = (self.version, next.version);
        !same_incarnation(self.incarnation.as_deref(), next.incarnation.as_deref())
            || old.last_written_ms < new.last_written_ms
            || (old.last_written_ms == new.last_written_ms
                && (old.size < new.size || self.key != next.key))
    }
}

/// The latest failure of a file, kept until it ships (the operator
/// commands print it as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureRecord {
    pub version: FileVersion,
    pub attempts: u64,
    pub last_error: String,
    pub reason: String,
    pub permanent: bool,
    pub first_failed_ms: i64,
    pub last_failed_ms: i64,
}

/// A version RDS deleted (retention, the 2 % storage cap) or replaced (a
/// rewrite, a new incarnation) before it shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRecord {
    pub version: FileVersion,
    pub detected_ms: i64,
    /// The `DbiResourceId` of the instance the version belonged to.
    pub incarnation: Option<String>,
}

/// Everything the state table holds for one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileState {
    pub instance: String,
    pub file: String,
    pub shipped: Option<ShippedRecord>,
    /// The version last handed to the queue and when.
    pub enqueued: Option<(FileVersion, i64)>,
    pub failure: Option<FailureRecord>,
    /// The latest version found deleted by RDS before it shipped.
    pub lost: Option<LostRecord>,
    /// When RDS stopped listing the file; DynamoDB's TTL removes the entry
    /// some time after (epoch seconds in the table's `expires_at`).
    pub gone_ms: Option<i64>,
    /// The `DbiResourceId` of the instance last enqueued or shipped for.
    pub incarnation: Option<String>,
    /// Every S3 key the file has shipped to, sorted: a rewritten file keeps
    /// its old objects beside the new ones.
    pub keys: Vec<String>,
}

impl FileState {
    /// True when S3 already holds this version (see `ShippedRecord::holds`)
    /// from the incarnation the entry was last enqueued for.
    pub fn has_shipped(&self, version: FileVersion) -> bool {
        self.shipped.as_ref().is_some_and(|s| {
            same_incarnation(s.incarnation.as_deref(), self.incarnation.as_deref())
                && s.holds(version)
        })
    }

    /// True when this entry was written for another incarnation than
    /// `incarnation`: nothing in it says anything about the new one's files.
    pub fn is_other_incarnation(&self, incarnation: Option<&str>) -> bool {
        !same_incarnation(self.incarnation.as_deref(), incarnation)
    }

    /// Whether `version` went with the version RDS deleted or replaced
    /// before it shipped: that one, or any written before it.
    /// Only within the incarnation the entry is now for.
    pub fn is_lost(&self, version: FileVersion) -> bool {
        self.lost.as_ref().is_some_and(|l| {
            same_incarnation(l.incarnation.as_deref(), self.incarnation.as_deref())
                && (version == l.version || version.last_written_ms < l.version.last_written_ms)
        })
    }

    /// The lost version, unless that very version shipped after all (a
    /// worker that finished as the lister looked).
    pub fn lost_unshipped(&self) -> Option<&LostRecord> {
        self.lost.as_ref().filter(|l| {
            !self.shipped.as_ref().is_some_and(|s| {
                s.version.last_written_ms == l.version.last_written_ms && s.holds(l.version)
            })
        })
    }

    /// The newest version the pipeline knows of but has not shipped: the
    /// one enqueued or failing, unless S3 holds it or it was found lost.
    pub fn unshipped(&self) -> Option<FileVersion> {
        let enqueued = self.enqueued.map(|(v, _)| v);
        let failed = self.failure.as_ref().map(|f| f.version);
        enqueued
            .into_iter()
            .chain(failed)
            .filter(|v| !self.has_shipped(*v))
            .filter(|v| !self.is_lost(*v))
            .max()
    }
}

/// A file whose `size`/`last_written_ms` version is shipped (unit tests).
#[cfg(test)]
pub(crate) fn shipped_file(file: &str, size: u64, last_written_ms: i64) -> FileState {
    FileState {
        file: file.into(),
        shipped: Some(ShippedRecord {
            version: FileVersion::new(size, last_written_ms),
            listed_size: size,
            at_ms: 0,
            key: "k".into(),
            stored_bytes: size,
            crc32c: String::new(),
            raw_crc32c: String::new(),
            incarnation: None,
        }),
        ..FileState::default()
    }
}

/// What the lister does with one listed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingDecision {
    /// S3 already holds this version (or a newer one).
    Unchanged,
    /// This exact version was enqueued recently and may still be in flight.
    InFlight,
    /// New or changed: enqueue it.
    Enqueue,
}

/// The diff rule. A version enqueued longer than `in_flight_timeout_ms` ago
/// without shipping is enqueued again (its message may have been lost).
pub fn decide(
    listed: FileVersion,
    state: Option<&FileState>,
    now_ms: i64,
    in_flight_timeout_ms: i64,
) -> ListingDecision {
    let Some(state) = state else {
        return ListingDecision::Enqueue;
    };
    if state.has_shipped(listed) {
        return ListingDecision::Unchanged;
    }
    match state.enqueued {
        Some((version, at_ms)) if version == listed && now_ms - at_ms < in_flight_timeout_ms => {
            ListingDecision::InFlight
        }
        _ => ListingDecision::Enqueue,
    }
}

#[cfg(test)]
mod tests;
