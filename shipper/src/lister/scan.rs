//! Listing one instance: its log files from the bound its state allows,
//! diffed against the state table, with what was lost or gone recorded.

use super::{InstanceScan, Lister, ScanOutcome};
use crate::error::{Error, OUTCOME_LOG, Result};
use crate::fleet::{DbInstance, Skipped, Target};
use crate::lister::{InstanceReport, ListingContext, ListingDiff, diff_listing, listing_bound};
use crate::queue::WorkQueue;
use crate::rds::LogCatalog;
use crate::state::{InstanceCycle, ListerState};
use crate::version::LogFileVersion;

/// RDS error codes that mean "this instance cannot be listed now", which
/// skips it with a reason rather than failing the cycle.
const NOT_LISTABLE_CODES: &[&str] = &[
    "InvalidDBInstanceState",
    "InvalidDBInstanceStateFault",
    "DBInstanceNotReady",
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
];

fn not_listable(error: &Error) -> Option<String> {
    match error {
        Error::Listing { source, .. }
            if source
                .code()
                .is_some_and(|c| NOT_LISTABLE_CODES.contains(&c)) =>
        {
            Some(format!(
                "cannot be listed now ({}): {}",
                source.code().unwrap_or_default(),
                source.message
            ))
        }
        _ => None,
    }
}

impl<C: LogCatalog, S: ListerState, Q: WorkQueue> Lister<C, S, Q> {
    pub(super) async fn scan(
        &self,
        target: Target,
        previous: Option<&InstanceCycle>,
        now_ms: i64,
    ) -> ScanOutcome {
        let Target { region, instance } = target;
        let mut scan = InstanceScan {
            report: InstanceReport {
                instance: instance.id.clone(),
                region: region.clone(),
                resource_id: instance.resource_id.clone(),
                ..InstanceReport::default()
            },
            changed: Vec::new(),
            full_listing: false,
        };
        let Some(catalog) = self.regions.iter().find(|r| r.region == region) else {
            scan.report.error = Some("no RDS client for its region".into());
            return ScanOutcome::Listed(scan);
        };
        let result = self
            .list_and_diff(&catalog.catalog, &instance, previous, now_ms)
            .await;
        match result {
            Ok((since, listed, diff)) => {
                let report = &mut scan.report;
                report.listed_from_ms = since;
                report.listed = listed;
                report.unchanged = diff.unchanged;
                report.in_flight = diff.in_flight;
                report.filtered = diff.filtered;
                report.lost = diff.lost.len();
                report.near_retention = diff.near_retention.len();
                scan.full_listing = since.is_none();
                let changed = diff
                    .enqueue
                    .into_iter()
                    .map(|(file, version)| LogFileVersion {
                        instance: instance.id.clone(),
                        file,
                        version,
                        region: region.clone(),
                        incarnation: instance.resource_id.clone(),
                    });
                for version in changed {
                    match self.settings.layout.checked_key(&version) {
                        Ok(_) => scan.changed.push(version),
                        Err(e) => {
                            tracing::error!(target: OUTCOME_LOG, instance = %version.instance, file = %version.file, error = %e, "not enqueued");
                            scan.report.unshippable.push(e.to_string());
                        }
                    }
                }
            }
            Err(e) => {
                if let Some(reason) = not_listable(&e) {
                    return ScanOutcome::Skipped(Skipped {
                        instance: instance.id,
                        region,
                        reason,
                    });
                }
                tracing::error!(target: OUTCOME_LOG, instance = %instance.id, error = %e, "instance failed this cycle");
                scan.report.error = Some(crate::error::causes(&e));
            }
        }
        ScanOutcome::Listed(scan)
    }

    /// Lists one instance from the bound its state allows, diffs the
    /// listing and records what it found lost or gone.
    async fn list_and_diff(
        &self,
        catalog: &C,
        target: &DbInstance,
        previous: Option<&InstanceCycle>,
        now_ms: i64,
    ) -> Result<(Option<i64>, usize, ListingDiff)> {
        let (instance, engine) = (target.id.as_str(), target.engine.as_str());
        let incarnation = target.resource_id.as_deref();
        let known = self.state.files_of(instance).await?;
        let full_every_ms = self.settings.full_listing_every.as_millis() as i64;
        let since = listing_bound(previous, &known, incarnation, now_ms, full_every_ms);
        let listed = catalog.log_files(instance, since).await?;
        let diff = diff_listing(
            &listed,
            &known,
            &ListingContext {
                engine,
                since,
                filter: &self.settings.file_filter,
                now_ms,
                in_flight_timeout_ms: self.settings.in_flight_timeout.as_millis() as i64,
                incarnation,
            },
        );
        for (file, lost) in &diff.lost {
            tracing::error!(
                instance,
                file,
                size = lost.version.size,
                last_written_ms = lost.version.last_written_ms,
                "log file version lost: RDS deleted or replaced it before it shipped"
            );
            self.state.record_lost(instance, file, lost).await?;
        }
        for file in &diff.gone {
            self.state.record_gone(instance, file, now_ms).await?;
        }
        for file in &diff.near_retention {
            tracing::warn!(
                instance,
                file,
                engine,
                "unshipped log file is close to RDS's retention"
            );
        }
        Ok((since, listed.len(), diff))
    }
}
