//! Sending a cycle's changed versions, instances taking turns, and
//! recording each one sent as enqueued.

use futures_util::{StreamExt, stream};

use super::{InstanceScan, Lister};
use crate::enqueue::{Enqueued, send_and_record};
use crate::error::OUTCOME_LOG;
use crate::fleet::interleave;
use crate::queue::{MAX_BATCH, WorkQueue};
use crate::rds::LogCatalog;
use crate::state::ListerState;
use crate::version::LogFileVersion;

impl<C: LogCatalog, S: ListerState, Q: WorkQueue> Lister<C, S, Q> {
    /// Sends every changed version, instances taking turns, and records
    /// each sent one as enqueued. Send first, record after: a crash in
    /// between only enqueues the version once more, which the worker skips.
    pub(super) async fn enqueue(&self, scans: &mut [InstanceScan], now_ms: i64) {
        let per_instance: Vec<Vec<(usize, LogFileVersion)>> = scans
            .iter_mut()
            .enumerate()
            .map(|(i, scan)| {
                std::mem::take(&mut scan.changed)
                    .into_iter()
                    .map(|v| (i, v))
                    .collect()
            })
            .collect();
        let order = interleave(per_instance);
        let results: Vec<Vec<(usize, std::result::Result<(), String>)>> =
            stream::iter(order.chunks(MAX_BATCH))
                .map(|chunk| self.send_chunk(chunk, now_ms))
                .buffered(self.settings.concurrency.max(1))
                .collect()
                .await;
        for (index, result) in results.into_iter().flatten() {
            let report = &mut scans[index].report;
            match result {
                Ok(()) => report.enqueued += 1,
                Err(reason) => {
                    report.not_enqueued += 1;
                    report.error.get_or_insert(reason);
                }
            }
        }
    }

    async fn send_chunk(
        &self,
        chunk: &[(usize, LogFileVersion)],
        now_ms: i64,
    ) -> Vec<(usize, std::result::Result<(), String>)> {
        let versions: Vec<LogFileVersion> = chunk.iter().map(|(_, v)| v.clone()).collect();
        let results = send_and_record(&self.queue, &self.state, &versions, now_ms).await;
        chunk
            .iter()
            .zip(results)
            .map(|((scan, version), result)| {
                let result = match result {
                    Enqueued::Recorded => {
                        tracing::info!(instance = %version.instance, file = %version.file, size = version.version.size, "enqueued");
                        Ok(())
                    }
                    Enqueued::NotRecorded(e) => Err(e.to_string()),
                    Enqueued::NotSent(reason) => {
                        tracing::error!(target: OUTCOME_LOG, instance = %version.instance, file = %version.file, reason, "could not enqueue");
                        Err(format!("could not enqueue {}: {reason}", version.file))
                    }
                };
                (*scan, result)
            })
            .collect()
    }
}
