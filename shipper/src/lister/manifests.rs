//! After a cycle, the daily manifests of the instances it listed: the
//! lister sees every instance, and a day closes only once its versions
//! are shipped or lost, which the lister's records say.

use tokio::time::Instant;

use super::{CycleReport, Lister};
use crate::manifest::{DailyManifests, ManifestArchive};
use crate::queue::WorkQueue;
use crate::rds::LogCatalog;
use crate::state::ListerState;

impl<C: LogCatalog, S: ListerState, Q: WorkQueue> Lister<C, S, Q> {
    /// Writes the due manifests of the instances `report` listed, stopping
    /// at `deadline`; what could not be written waits for the next cycle
    /// and is in the report's errors.
    pub async fn write_manifests<A: ManifestArchive>(
        &self,
        manifests: &DailyManifests<A>,
        report: &mut CycleReport,
        now_ms: i64,
        deadline: Option<Instant>,
    ) {
        let listed: Vec<String> = report
            .instances
            .iter()
            .filter(|i| i.error.is_none())
            .map(|i| i.instance.clone())
            .collect();
        // A cycle that listed nothing (its records unreadable) has said why.
        if listed.is_empty() {
            return;
        }
        let written = manifests
            .write_due(&self.state, &listed, now_ms, deadline)
            .await;
        report.errors.extend(
            written
                .errors
                .iter()
                .map(|(instance, e)| format!("daily manifests of {instance}: {e}")),
        );
        report.manifests_written = written.written.len() + written.adopted.len();
    }
}
