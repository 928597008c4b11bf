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
}

/// What was last shipped of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedRecord {
    /// `size` is the byte count actually written to S3, which can exceed the
    /// listed size when the file grew during the download.
    pub version: FileVersion,
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
}

/// The latest failure of a file, kept until it ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    pub version: FileVersion,
    pub attempts: u64,
    pub last_error: String,
    pub reason: String,
    pub permanent: bool,
    pub first_failed_ms: i64,
    pub last_failed_ms: i64,
}

/// A version RDS deleted (retention, the 2 % storage cap) before it shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostRecord {
    pub version: FileVersion,
    pub detected_ms: i64,
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
}

impl FileState {
    /// True when S3 already holds this version or a newer one.
    pub fn has_shipped(&self, version: FileVersion) -> bool {
        self.shipped.as_ref().is_some_and(|s| s.version >= version)
    }

    /// The newest version the pipeline knows of but has not shipped: the
    /// one enqueued or failing, if it is newer than what S3 holds.
    pub fn unshipped(&self) -> Option<FileVersion> {
        let enqueued = self.enqueued.map(|(v, _)| v);
        let failed = self.failure.as_ref().map(|f| f.version);
        enqueued
            .into_iter()
            .chain(failed)
            .filter(|v| !self.has_shipped(*v))
            .filter(|v| self.lost.is_none_or(|l| l.version < *v))
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
            at_ms: 0,
            key: "k".into(),
            stored_bytes: size,
            crc32c: String::new(),
            raw_crc32c: String::new(),
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
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn shipped(size: u64, lw: i64) -> FileState {
        shipped_file("", size, lw)
    }

    #[test]
    fn a_file_never_seen_is_enqueued() {
        assert_eq!(
            decide(FileVersion::new(0, 1), None, 0, HOUR),
            ListingDecision::Enqueue
        );
    }

    #[test]
    fn same_size_and_time_is_unchanged() {
        let state = shipped(10, 100);
        assert_eq!(
            decide(FileVersion::new(10, 100), Some(&state), 0, HOUR),
            ListingDecision::Unchanged
        );
    }

    #[test]
    fn grown_or_rewritten_file_is_enqueued() {
        let state = shipped(10, 100);
        assert_eq!(
            decide(FileVersion::new(11, 100), Some(&state), 0, HOUR),
            ListingDecision::Enqueue
        );
        assert_eq!(
            decide(FileVersion::new(10, 101), Some(&state), 0, HOUR),
            ListingDecision::Enqueue
        );
        // Rotated and rewritten smaller but later: still a newer version.
        assert_eq!(
            decide(FileVersion::new(3, 200), Some(&state), 0, HOUR),
            ListingDecision::Enqueue
        );
    }

    #[test]
    fn a_version_shipped_larger_than_listed_is_not_shipped_again() {
        // The file grew during the download, so S3 holds more than was listed.
        let state = shipped(15, 100);
        assert_eq!(
            decide(FileVersion::new(10, 100), Some(&state), 0, HOUR),
            ListingDecision::Unchanged
        );
    }

    #[test]
    fn an_enqueued_version_is_in_flight_until_the_timeout() {
        let mut state = shipped(10, 100);
        let listed = FileVersion::new(20, 200);
        state.enqueued = Some((listed, 1_000));
        assert_eq!(
            decide(listed, Some(&state), 1_000 + HOUR - 1, HOUR),
            ListingDecision::InFlight
        );
        assert_eq!(
            decide(listed, Some(&state), 1_000 + HOUR, HOUR),
            ListingDecision::Enqueue
        );
        // A different version than the one in flight goes out at once.
        assert_eq!(
            decide(FileVersion::new(30, 300), Some(&state), 1_001, HOUR),
            ListingDecision::Enqueue
        );
    }

    #[test]
    fn unshipped_is_the_newest_pending_version_not_yet_lost() {
        let mut state = shipped(10, 100);
        assert_eq!(state.unshipped(), None);
        state.enqueued = Some((FileVersion::new(20, 200), 0));
        assert_eq!(state.unshipped(), Some(FileVersion::new(20, 200)));
        state.lost = Some(LostRecord {
            version: FileVersion::new(20, 200),
            detected_ms: 1,
        });
        assert_eq!(state.unshipped(), None);
        // An old enqueued version that S3 already holds is not pending.
        let mut state = shipped(30, 300);
        state.enqueued = Some((FileVersion::new(20, 200), 0));
        assert_eq!(state.unshipped(), None);
    }

    #[test]
    fn versions_order_by_time_then_size() {
        assert!(FileVersion::new(1, 2) > FileVersion::new(100, 1));
        assert!(FileVersion::new(2, 1) > FileVersion::new(1, 1));
    }
}
