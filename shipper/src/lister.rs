//! One lister cycle: list each instance's log files, diff them against the
//! state table, enqueue every new or changed version, and remember it as enqueued.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;

use crate::error::{Error, Result};
use crate::message::ShipRequest;
use crate::queue::{WorkQueue, enqueue_all};
use crate::rds::LogCatalog;
use crate::state::StateStore;
use crate::version::{ListingDecision, LogFileVersion, decide};

/// What a cycle did for one instance.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct InstanceReport {
    pub instance: String,
    pub listed: usize,
    pub unchanged: usize,
    pub in_flight: usize,
    pub enqueued: usize,
    /// Versions that could not be enqueued; the next cycle tries them again.
    pub not_enqueued: usize,
    /// Why the instance could not be processed, if it could not.
    pub error: Option<String>,
}

/// What a whole cycle did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct CycleReport {
    pub instances: Vec<InstanceReport>,
}

impl CycleReport {
    pub fn enqueued(&self) -> usize {
        self.instances.iter().map(|i| i.enqueued).sum()
    }

    /// Instances that failed, or versions that could not be enqueued.
    pub fn problems(&self) -> Vec<String> {
        self.instances
            .iter()
            .filter_map(|i| match (&i.error, i.not_enqueued) {
                (Some(e), _) => Some(format!("{}: {e}", i.instance)),
                (None, n) if n > 0 => Some(format!("{}: {n} versions not enqueued", i.instance)),
                _ => None,
            })
            .collect()
    }
}

pub struct Lister<C, S, Q> {
    pub catalog: C,
    pub state: S,
    pub queue: Q,
    pub in_flight_timeout: Duration,
}

impl<C: LogCatalog, S: StateStore, Q: WorkQueue> Lister<C, S, Q> {
    /// Runs one cycle over `instances`. One instance failing does not stop
    /// the others; its error is in the report.
    pub async fn run_cycle(&self, instances: &[String], now_ms: i64) -> CycleReport {
        let mut report = CycleReport::default();
        for instance in instances {
            let mut entry = InstanceReport {
                instance: instance.clone(),
                ..InstanceReport::default()
            };
            if let Err(e) = self.sync_instance(instance, now_ms, &mut entry).await {
                tracing::error!(instance, error = %e, "instance skipped this cycle");
                entry.error = Some(e.to_string());
            }
            report.instances.push(entry);
        }
        report
    }

    /// The Lambda handler for the EventBridge schedule: one cycle, reported;
    /// an error when any instance or version was left out, so the failure
    /// shows in the function's error metric (the next cycle retries it).
    pub async fn handle_scheduled(
        &self,
        instances: &[String],
        _event: EventBridgeEvent,
    ) -> Result<CycleReport> {
        let report = self.run_cycle(instances, crate::now_ms()).await;
        tracing::info!(
            enqueued = report.enqueued(),
            instances = report.instances.len(),
            "lister cycle done"
        );
        let problems = report.problems();
        if problems.is_empty() {
            Ok(report)
        } else {
            Err(Error::IncompleteCycle { problems })
        }
    }

    async fn sync_instance(
        &self,
        instance: &str,
        now_ms: i64,
        report: &mut InstanceReport,
    ) -> Result<()> {
        let listed = self.catalog.log_files(instance).await?;
        let known: HashMap<String, _> = self
            .state
            .files_of(instance)
            .await?
            .into_iter()
            .map(|s| (s.file.clone(), s))
            .collect();
        report.listed = listed.len();
        let timeout_ms = self.in_flight_timeout.as_millis() as i64;
        let mut changed = Vec::new();
        for file in listed {
            match decide(file.version, known.get(&file.name), now_ms, timeout_ms) {
                ListingDecision::Unchanged => report.unchanged += 1,
                ListingDecision::InFlight => report.in_flight += 1,
                ListingDecision::Enqueue => changed.push(LogFileVersion {
                    instance: instance.to_owned(),
                    file: file.name,
                    version: file.version,
                }),
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let bodies: Vec<String> = changed
            .iter()
            .map(|v| ShipRequest::new(v).to_json())
            .collect();
        // Send first, record after: a crash in between only enqueues the
        // version once more next cycle, which the worker skips as shipped.
        let sent = enqueue_all(&self.queue, &bodies).await;
        for (index, reason) in &sent.failed {
            tracing::error!(instance, file = %changed[*index].file, reason, "could not enqueue");
        }
        report.not_enqueued = sent.failed.len();
        for index in sent.sent {
            let version = &changed[index];
            self.state.record_enqueued(version, now_ms).await?;
            report.enqueued += 1;
            tracing::info!(instance, file = %version.file, size = version.version.size, "enqueued");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AwsError, Error};
    use crate::queue::MemoryQueue;
    use crate::rds::ListedFile;
    use crate::state::MemoryStateTable;
    use crate::version::{FileVersion, ShippedRecord};
    use std::sync::Mutex;

    #[derive(Default)]
    struct FakeCatalog {
        files: Mutex<HashMap<String, Vec<ListedFile>>>,
    }

    impl FakeCatalog {
        fn set(&self, instance: &str, files: &[(&str, u64, i64)]) {
            let files = files
                .iter()
                .map(|(n, s, t)| ListedFile {
                    name: n.to_string(),
                    version: FileVersion::new(*s, *t),
                })
                .collect();
            self.files.lock().unwrap().insert(instance.into(), files);
        }
    }

    impl LogCatalog for FakeCatalog {
        async fn log_files(&self, instance: &str) -> Result<Vec<ListedFile>> {
            self.files
                .lock()
                .unwrap()
                .get(instance)
                .cloned()
                .ok_or_else(|| Error::Listing {
                    instance: instance.into(),
                    source: AwsError {
                        code: Some("DBInstanceNotFound".into()),
                        message: "not found".into(),
                    },
                })
        }
    }

    fn lister() -> Lister<FakeCatalog, MemoryStateTable, MemoryQueue> {
        Lister {
            catalog: FakeCatalog::default(),
            state: MemoryStateTable::default(),
            queue: MemoryQueue::default(),
            in_flight_timeout: Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn enqueues_new_files_once_and_not_again_while_in_flight() {
        let l = lister();
        l.catalog.set("db-1", &[("a.log", 10, 1), ("b.log", 0, 1)]);
        let first = l.run_cycle(&["db-1".into()], 1_000).await;
        assert_eq!(first.enqueued(), 2);
        let second = l.run_cycle(&["db-1".into()], 2_000).await;
        assert_eq!(second.enqueued(), 0);
        assert_eq!(second.instances[0].in_flight, 2);
        assert_eq!(l.queue.bodies().len(), 2);
    }

    #[tokio::test]
    async fn shipped_files_are_unchanged_and_growth_is_enqueued() {
        let l = lister();
        l.catalog.set("db-1", &[("a.log", 10, 1)]);
        let shipped = ShippedRecord {
            version: FileVersion::new(10, 1),
            at_ms: 0,
            key: "k".into(),
            crc32c: String::new(),
        };
        l.state
            .record_shipped("db-1", "a.log", &shipped)
            .await
            .unwrap();
        assert_eq!(
            l.run_cycle(&["db-1".into()], 5).await.instances[0].unchanged,
            1
        );
        l.catalog.set("db-1", &[("a.log", 25, 2)]);
        assert_eq!(l.run_cycle(&["db-1".into()], 6).await.enqueued(), 1);
        let body = &l.queue.bodies()[0];
        assert_eq!(
            ShipRequest::parse(body).unwrap().version,
            FileVersion::new(25, 2)
        );
    }

    #[tokio::test]
    async fn a_failing_instance_does_not_stop_the_others() {
        let l = lister();
        l.catalog.set("db-2", &[("a.log", 1, 1)]);
        let report = l.run_cycle(&["db-1".into(), "db-2".into()], 1).await;
        assert!(report.instances[0].error.is_some());
        assert_eq!(report.instances[1].enqueued, 1);
        assert_eq!(report.problems().len(), 1);
    }

    #[tokio::test]
    async fn versions_that_cannot_be_enqueued_are_not_marked_in_flight() {
        let l = lister();
        l.catalog.set("db-1", &[("a.log", 1, 1)]);
        l.queue.fail_next_entries(100);
        let report = l.run_cycle(&["db-1".into()], 1).await;
        assert_eq!(report.instances[0].not_enqueued, 1);
        assert!(l.state.get("db-1", "a.log").await.unwrap().is_none());
    }
}
