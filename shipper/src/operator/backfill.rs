//! `rdslogs backfill`, the rdsrecorder seed's interval sync: enqueue every
//! log file version RDS lists as last written inside a time window,
//! whatever the state table says.

use serde::Serialize;

use crate::enqueue::{Enqueued, send_and_record};
use crate::error::Result;
use crate::fleet::FileFilter;
use crate::queue::{MAX_BATCH, WorkQueue};
use crate::rds::LogCatalog;
use crate::state::FileStates;
use crate::version::{FileVersion, LogFileVersion};

/// A window on last-written time: `since` inclusive, `until` exclusive, so
/// back-to-back windows neither overlap nor leave a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub since_ms: i64,
    pub until_ms: i64,
}

impl Window {
    pub fn new(since_ms: i64, until_ms: i64) -> Result<Self, String> {
        if since_ms < until_ms {
            Ok(Self { since_ms, until_ms })
        } else {
            Err("the window is empty: --since must be before --until".to_owned())
        }
    }

    pub fn contains(&self, last_written_ms: i64) -> bool {
        (self.since_ms..self.until_ms).contains(&last_written_ms)
    }
}

/// What a backfill found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    pub instance: String,
    pub region: Option<String>,
    pub dry_run: bool,
    /// Versions in the window, oldest first (the closest to RDS's retention).
    pub in_window: Vec<(String, FileVersion)>,
    /// Files enqueued (all of `in_window` unless the queue refused some).
    pub enqueued: Vec<String>,
    pub not_enqueued: Vec<(String, String)>,
    /// Files listed but left out by RDSLOGS_INCLUDE / RDSLOGS_EXCLUDE.
    pub filtered: usize,
}

/// Where to backfill from and what to keep.
pub struct BackfillRequest<'a> {
    pub instance: &'a str,
    /// `None`: the worker's own region.
    pub region: Option<&'a str>,
    pub window: Window,
    pub filter: &'a FileFilter,
    pub dry_run: bool,
}

/// Lists the instance's files written since the window opened, keeps those
/// inside it, and enqueues each version (send first, then record it as
/// enqueued, as the lister does). The worker still skips a version the
/// state table records as shipped. `progress` gets (done, total).
pub async fn backfill<C, S, Q>(
    catalog: &C,
    state: &S,
    queue: &Q,
    request: &BackfillRequest<'_>,
    now_ms: i64,
    mut progress: impl FnMut(usize, usize),
) -> Result<BackfillReport>
where
    C: LogCatalog,
    S: FileStates,
    Q: WorkQueue,
{
    let listed = catalog
        .log_files(request.instance, Some(request.window.since_ms))
        .await?;
    let mut report = BackfillReport {
        instance: request.instance.to_owned(),
        region: request.region.map(str::to_owned),
        dry_run: request.dry_run,
        ..BackfillReport::default()
    };
    let mut versions: Vec<LogFileVersion> = Vec::new();
    for file in listed {
        if !request.window.contains(file.version.last_written_ms) {
            continue;
        }
        if !request.filter.accepts(&file.name) {
            report.filtered += 1;
            continue;
        }
        versions.push(LogFileVersion {
            instance: request.instance.to_owned(),
            file: file.name,
            version: file.version,
            region: request.region.map(str::to_owned),
            incarnation: None,
        });
    }
    versions.sort_by(|a, b| a.version.cmp(&b.version).then(a.file.cmp(&b.file)));
    report.in_window = versions
        .iter()
        .map(|v| (v.file.clone(), v.version))
        .collect();
    if request.dry_run {
        return Ok(report);
    }
    let total = versions.len();
    for (chunk_no, chunk) in versions.chunks(MAX_BATCH).enumerate() {
        for (version, result) in chunk
            .iter()
            .zip(send_and_record(queue, state, chunk, now_ms).await)
        {
            match result {
                Enqueued::Recorded => report.enqueued.push(version.file.clone()),
                Enqueued::NotSent(reason) => {
                    report.not_enqueued.push((version.file.clone(), reason))
                }
                // The state table is failing: stop rather than send more.
                Enqueued::NotRecorded(e) => return Err(e),
            }
        }
        progress((chunk_no * MAX_BATCH + chunk.len()).min(total), total);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::DbInstance;
    use crate::queue::MemoryQueue;
    use crate::rds::ListedFile;
    use crate::state::MemoryStateTable;
    use crate::version::ShippedRecord;

    /// A catalog that honours the lower bound the way RDS does.
    struct Catalog(Vec<ListedFile>);

    impl LogCatalog for Catalog {
        async fn instances(&self) -> Result<Vec<DbInstance>> {
            Ok(Vec::new())
        }

        async fn log_files(&self, _: &str, since: Option<i64>) -> Result<Vec<ListedFile>> {
            Ok(self
                .0
                .iter()
                .filter(|f| since.is_none_or(|s| f.version.last_written_ms >= s))
                .cloned()
                .collect())
        }
    }

    fn catalog(files: &[(&str, i64)]) -> Catalog {
        Catalog(
            files
                .iter()
                .map(|(name, lw)| ListedFile {
                    name: name.to_string(),
                    version: FileVersion::new(10, *lw),
                })
                .collect(),
        )
    }

    fn request<'a>(window: Window, filter: &'a FileFilter, dry_run: bool) -> BackfillRequest<'a> {
        BackfillRequest {
            instance: "db-1",
            region: None,
            window,
            filter,
            dry_run,
        }
    }

    #[test]
    fn the_window_includes_since_and_excludes_until() {
        let w = Window::new(100, 200).unwrap();
        assert!(!w.contains(99));
        assert!(w.contains(100));
        assert!(w.contains(199));
        assert!(!w.contains(200));
        assert!(Window::new(200, 200).is_err());
        assert!(Window::new(201, 200).is_err());
    }

    #[tokio::test]
    async fn enqueues_the_window_oldest_first_whatever_the_state() {
        // GIVEN files around the window's edges, one of them already shipped
        let cat = catalog(&[
            ("before.log", 99),
            ("at-since.log", 100),
            ("late.log", 199),
            ("at-until.log", 200),
            ("mid.log", 150),
        ]);
        let state = MemoryStateTable::default();
        let shipped = ShippedRecord {
            version: FileVersion::new(10, 150),
            at_ms: 1,
            key: "k".into(),
            stored_bytes: 10,
            crc32c: String::new(),
            raw_crc32c: String::new(),
            listed_size: 10,
            incarnation: None,
        };
        state
            .record_shipped("db-1", "mid.log", &shipped)
            .await
            .unwrap();
        let queue = MemoryQueue::default();
        let filter = FileFilter::default();
        let mut seen = Vec::new();
        // WHEN the window [100, 200) is backfilled
        let window = Window::new(100, 200).unwrap();
        let report = backfill(
            &cat,
            &state,
            &queue,
            &request(window, &filter, false),
            7,
            |d, t| seen.push((d, t)),
        )
        .await
        .unwrap();
        // THEN exactly the versions inside it are enqueued and recorded
        assert_eq!(report.enqueued, ["at-since.log", "mid.log", "late.log"]);
        assert_eq!(queue.bodies().len(), 3);
        assert_eq!(seen, [(3, 3)]);
        let mid = state.get("db-1", "mid.log").await.unwrap().unwrap();
        assert_eq!(mid.enqueued, Some((FileVersion::new(10, 150), 7)));
    }

    #[tokio::test]
    async fn a_dry_run_lists_and_the_file_filter_applies() {
        let cat = catalog(&[("a.log", 100), ("a.csv", 100)]);
        let state = MemoryStateTable::default();
        let queue = MemoryQueue::default();
        let filter = FileFilter::new(&["*.csv".to_owned()], &[]).unwrap();
        let window = Window::new(0, 1_000).unwrap();
        let report = backfill(
            &cat,
            &state,
            &queue,
            &request(window, &filter, true),
            7,
            |_, _| {},
        )
        .await
        .unwrap();
        assert_eq!(report.in_window.len(), 1);
        assert_eq!(report.filtered, 1);
        assert!(report.enqueued.is_empty());
        assert!(queue.bodies().is_empty());
        assert!(state.get("db-1", "a.csv").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn versions_the_queue_refuses_are_reported_and_not_recorded() {
        let cat = catalog(&[("a.log", 100)]);
        let state = MemoryStateTable::default();
        let queue = MemoryQueue::default();
        queue.fail_next_entries(100);
        let filter = FileFilter::default();
        let window = Window::new(0, 1_000).unwrap();
        let report = backfill(
            &cat,
            &state,
            &queue,
            &request(window, &filter, false),
            7,
            |_, _| {},
        )
        .await
        .unwrap();
        assert_eq!(report.not_enqueued.len(), 1);
        assert!(state.get("db-1", "a.log").await.unwrap().is_none());
    }
}
