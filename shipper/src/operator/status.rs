//! `rdslogs status` as numbers: per instance, the files shipped, pending,
//! failing and lost, bytes shipped, the oldest unshipped file's age, and
//! what the lister last recorded, all from the state table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::state::InstanceCycle;
use crate::version::FileState;

/// One instance's numbers. Counts are of files (each file counts once, by
/// its newest known version).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub instance: String,
    /// Files S3 holds a version of.
    pub shipped: u64,
    /// Files with a newer version on its way that has not failed.
    pub pending: u64,
    /// Files whose newest unshipped version has failed (and may be in the
    /// dead-letter queue).
    pub failed: u64,
    /// Files with a version RDS deleted or replaced before it shipped (a
    /// later content under the same name does not hold its bytes).
    pub lost: u64,
    /// Log bytes of the versions S3 holds.
    pub bytes_shipped: u64,
    /// What they take in S3 (less when compressed).
    pub bytes_stored: u64,
    /// How long ago the oldest unshipped version was last written: how far
    /// behind RDS the copy in S3 is.
    pub lag_ms: Option<i64>,
    /// The file with that oldest unshipped version.
    pub oldest_unshipped: Option<String>,
    /// The lister's last record of the instance (rewritten at least hourly
    /// while nothing changes).
    pub last_cycle: Option<InstanceCycle>,
}

impl InstanceStatus {
    fn named(instance: &str) -> Self {
        Self {
            instance: instance.to_owned(),
            ..Self::default()
        }
    }

    fn add_file(&mut self, file: &FileState, now_ms: i64) {
        if let Some(shipped) = &file.shipped {
            self.shipped += 1;
            self.bytes_shipped += shipped.version.size;
            self.bytes_stored += shipped.stored_bytes;
        }
        if let Some(unshipped) = file.unshipped() {
            let failing = file
                .failure
                .as_ref()
                .is_some_and(|f| f.version >= unshipped);
            if failing {
                self.failed += 1;
            } else {
                self.pending += 1;
            }
            let lag = (now_ms - unshipped.last_written_ms).max(0);
            if self.lag_ms.is_none_or(|l| lag > l) {
                self.lag_ms = Some(lag);
                self.oldest_unshipped = Some(file.file.clone());
            }
        }
        if file.lost_unshipped().is_some() {
            self.lost += 1;
        }
    }

    /// Sums counts and bytes; the lag is the largest.
    fn absorb(&mut self, other: &InstanceStatus) {
        self.shipped += other.shipped;
        self.pending += other.pending;
        self.failed += other.failed;
        self.lost += other.lost;
        self.bytes_shipped += other.bytes_shipped;
        self.bytes_stored += other.bytes_stored;
        if other.lag_ms > self.lag_ms {
            self.lag_ms = other.lag_ms;
            self.oldest_unshipped = other
                .oldest_unshipped
                .as_ref()
                .map(|f| format!("{}/{f}", other.instance));
        }
    }
}

/// Every instance the state table knows, by files or by lister records,
/// sorted by name, and their sum (named "total", without a cycle).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FleetStatus {
    pub instances: Vec<InstanceStatus>,
    pub total: InstanceStatus,
}

/// Aggregates the state table's file entries and lister records.
pub fn summarize(files: &[FileState], cycles: &[InstanceCycle], now_ms: i64) -> FleetStatus {
    let mut by_instance: BTreeMap<&str, InstanceStatus> = BTreeMap::new();
    for file in files {
        by_instance
            .entry(&file.instance)
            .or_insert_with(|| InstanceStatus::named(&file.instance))
            .add_file(file, now_ms);
    }
    for cycle in cycles {
        by_instance
            .entry(&cycle.instance)
            .or_insert_with(|| InstanceStatus::named(&cycle.instance))
            .last_cycle = Some(cycle.clone());
    }
    let mut total = InstanceStatus::named("total");
    for status in by_instance.values() {
        total.absorb(status);
    }
    FleetStatus {
        instances: by_instance.into_values().collect(),
        total,
    }
}

impl FleetStatus {
    /// Keeps one instance and makes the total its own numbers.
    pub fn only(mut self, instance: &str) -> Self {
        self.instances.retain(|s| s.instance == instance);
        let mut total = InstanceStatus::named("total");
        for status in &self.instances {
            total.absorb(status);
        }
        self.total = total;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::{FailureRecord, FileVersion, LostRecord, ShippedRecord};

    const NOW: i64 = 10_000_000;

    fn file(instance: &str, name: &str) -> FileState {
        FileState {
            instance: instance.into(),
            file: name.into(),
            ..FileState::default()
        }
    }

    fn shipped(mut f: FileState, size: u64, lw: i64) -> FileState {
        f.shipped = Some(ShippedRecord {
            version: FileVersion::new(size, lw),
            at_ms: lw,
            key: "k".into(),
            // As if gzip halved every file.
            stored_bytes: size / 2,
            crc32c: String::new(),
            raw_crc32c: String::new(),
            listed_size: size,
            incarnation: None,
        });
        f
    }

    fn enqueued(mut f: FileState, size: u64, lw: i64) -> FileState {
        f.enqueued = Some((FileVersion::new(size, lw), lw));
        f
    }

    fn failing(mut f: FileState, size: u64, lw: i64) -> FileState {
        f.failure = Some(FailureRecord {
            version: FileVersion::new(size, lw),
            attempts: 3,
            last_error: "AccessDenied".into(),
            reason: "download".into(),
            permanent: true,
            first_failed_ms: lw,
            last_failed_ms: lw,
        });
        f
    }

    fn lost(mut f: FileState, size: u64, lw: i64) -> FileState {
        f.lost = Some(LostRecord {
            version: FileVersion::new(size, lw),
            detected_ms: NOW,
            incarnation: None,
        });
        f
    }

    #[test]
    fn a_mixed_instance_counts_each_file_once_by_its_newest_version() {
        let files = vec![
            shipped(file("db-1", "done.log"), 100, 1_000),
            // Shipped once, and a newer version is on its way.
            enqueued(shipped(file("db-1", "growing.log"), 50, 2_000), 80, 3_000),
            // Never shipped, failing.
            failing(enqueued(file("db-1", "denied.log"), 10, 500), 10, 500),
            // Failed before, but a newer version is pending now.
            enqueued(failing(file("db-1", "retry.log"), 5, 600), 7, 4_000),
            // Deleted by RDS before it shipped: lost, not pending.
            lost(enqueued(file("db-1", "gone.log"), 9, 100), 9, 100),
            // A name reused after a loss: the new content does not hold
            // the lost bytes, which stay counted.
            lost(shipped(file("db-1", "later.log"), 20, 900), 5, 800),
            // Found lost as the worker finished it: it shipped after all.
            lost(shipped(file("db-1", "raced.log"), 30, 700), 30, 700),
        ];
        let status = summarize(&files, &[], NOW);
        let db = &status.instances[0];
        assert_eq!(db.shipped, 4);
        assert_eq!(db.bytes_shipped, 200);
        assert_eq!(db.bytes_stored, 100);
        assert_eq!(db.pending, 2);
        assert_eq!(db.failed, 1);
        assert_eq!(db.lost, 2);
        // The oldest unshipped version is denied.log's, written at 500.
        assert_eq!(db.lag_ms, Some(NOW - 500));
        assert_eq!(db.oldest_unshipped.as_deref(), Some("denied.log"));
    }

    #[test]
    fn instances_come_from_files_and_lister_records_and_sum_into_a_total() {
        let files = vec![
            shipped(file("db-a", "x.log"), 10, 1),
            enqueued(file("db-b", "y.log"), 5, 2_000),
        ];
        let cycles = vec![
            InstanceCycle {
                instance: "db-b".into(),
                at_ms: NOW - 60_000,
                ..InstanceCycle::default()
            },
            InstanceCycle {
                instance: "db-c".into(),
                at_ms: NOW,
                skipped: Some("status is stopped".into()),
                ..InstanceCycle::default()
            },
        ];
        let status = summarize(&files, &cycles, NOW);
        let names: Vec<&str> = status
            .instances
            .iter()
            .map(|s| s.instance.as_str())
            .collect();
        assert_eq!(names, ["db-a", "db-b", "db-c"]);
        assert_eq!(
            status.instances[1].last_cycle.as_ref().unwrap().at_ms,
            NOW - 60_000
        );
        assert!(status.instances[0].last_cycle.is_none());
        assert_eq!(status.total.shipped, 1);
        assert_eq!(status.total.pending, 1);
        assert_eq!(status.total.bytes_shipped, 10);
        assert_eq!(status.total.lag_ms, Some(NOW - 2_000));
        assert_eq!(status.total.oldest_unshipped.as_deref(), Some("db-b/y.log"));
        // One instance only: the total is its own.
        let one = status.only("db-a");
        assert_eq!(one.instances.len(), 1);
        assert_eq!(one.total.pending, 0);
        assert_eq!(one.total.lag_ms, None);
    }

    #[test]
    fn an_empty_table_has_no_instances_and_no_lag() {
        let status = summarize(&[], &[], NOW);
        assert!(status.instances.is_empty());
        assert_eq!(status.total, InstanceStatus::named("total"));
    }
}
