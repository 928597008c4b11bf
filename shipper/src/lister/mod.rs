//! One lister cycle: find the instances in scope in every region, list
//! each one's log files (bounded by what the state table already knows),
//! diff them, and enqueue every new or changed version, instances taking
//! turns. Lost versions and files near RDS's retention are reported.

mod diff;
mod enqueue;
mod manifests;
mod report;
mod scan;

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use futures_util::{StreamExt, stream};

pub use diff::{BOUND_MARGIN_MS, ListingContext, ListingDiff, diff_listing, listing_bound};
pub use report::{CycleReport, InstanceReport};

use crate::error::{Error, OUTCOME_LOG, Result};
use crate::fleet::{FileFilter, InstanceSelection, Skipped, Target, unique_across_regions};
use crate::layout::KeyLayout;
use crate::manifest::{DailyManifests, ManifestArchive};
use crate::queue::WorkQueue;
use crate::rds::LogCatalog;
use crate::state::{FleetCycle, InstanceCycle, LISTER_RECORD_REFRESH_MS, ListerState};
use crate::version::LogFileVersion;

/// The RDS catalog of one region (`None`: the SDK's own region).
pub struct RegionCatalog<C> {
    pub region: Option<String>,
    pub catalog: C,
}

/// How a cycle chooses and paces its work.
#[derive(Debug, Clone)]
pub struct ListerSettings {
    /// Stop starting listings this long before the invocation's deadline.
    pub deadline_margin: Duration,
    pub selection: InstanceSelection,
    pub file_filter: FileFilter,
    /// An enqueued version not shipped after this long is enqueued again.
    pub in_flight_timeout: Duration,
    /// Instances listed, and batches sent, at once.
    pub concurrency: usize,
    pub full_listing_every: Duration,
    /// The worker's key layout, so versions it could never write (a key
    /// over S3's limit) are reported here instead of enqueued.
    pub layout: KeyLayout,
}

impl ListerSettings {
    pub fn from_config(config: &crate::config::ListerConfig) -> Self {
        Self {
            deadline_margin: config.deadline_margin,
            selection: config.selection.clone(),
            file_filter: config.file_filter.clone(),
            in_flight_timeout: config.in_flight_timeout,
            concurrency: config.concurrency,
            full_listing_every: config.full_listing_every,
            layout: config.layout.clone(),
        }
    }

    /// The time a cycle may spend starting listings in an invocation with
    /// `remaining` left: less the margin, which a short timeout (a local
    /// runtime's 30 s) keeps to a tenth of it.
    pub fn budget(&self, remaining: Duration) -> Duration {
        remaining.saturating_sub(self.deadline_margin.min(remaining / 10))
    }
}

pub struct Lister<C, S, Q> {
    pub regions: Vec<RegionCatalog<C>>,
    pub state: S,
    pub queue: Q,
    pub settings: ListerSettings,
}

/// Instances per round, per instance listed at once: a round is listed,
/// sent and recorded before the next starts.
const ROUND_PER_CONCURRENCY: usize = 4;

/// How a target is named in reports and the resume cursor.
fn target_name(target: &Target) -> String {
    match &target.region {
        Some(region) => format!("{region}/{}", target.instance.id),
        None => target.instance.id.clone(),
    }
}

/// The targets in a stable order (region, then identifier), starting after
/// `resume_after`, the last instance the previous cycle reached: a fleet
/// larger than one cycle is covered round-robin over several.
fn resume_order(mut targets: Vec<Target>, resume_after: Option<&str>) -> Vec<Target> {
    targets.sort_by_key(target_name);
    if let Some(last) = resume_after {
        let start = targets.partition_point(|t| target_name(t).as_str() <= last);
        targets.rotate_left(start);
    }
    targets
}

/// One instance after its listing: the report so far and what to enqueue.
struct InstanceScan {
    report: InstanceReport,
    changed: Vec<LogFileVersion>,
    full_listing: bool,
}

enum ScanOutcome {
    Listed(InstanceScan),
    Skipped(Skipped),
}

impl<C: LogCatalog, S: ListerState, Q: WorkQueue> Lister<C, S, Q> {
    /// Runs one cycle over every instance in scope, however long it takes.
    pub async fn run_cycle(&self, now_ms: i64) -> CycleReport {
        self.run_cycle_within(now_ms, None).await
    }

    /// Runs one cycle, starting no listing once `budget` has passed.
    /// Instances go in rounds, from where the last cycle stopped: each
    /// round is listed, sent (instances taking turns) and recorded before
    /// the next starts, so a cycle that runs out of time has lost nothing
    /// and the next one carries on. One region or instance failing does
    /// not stop the others; its error is in the report.
    pub async fn run_cycle_within(&self, now_ms: i64, budget: Option<Duration>) -> CycleReport {
        let started = Instant::now();
        let deadline = budget.map(|b| started + b);
        let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
        let mut report = CycleReport::default();
        let (previous, resume_after): (HashMap<String, InstanceCycle>, _) =
            match self.state.lister_records().await {
                Ok(records) => (
                    records
                        .instances
                        .into_iter()
                        .map(|c| (c.instance.clone(), c))
                        .collect(),
                    records.fleet.and_then(|f| f.resume_after),
                ),
                Err(e) => {
                    let permanent = !e.is_transient();
                    report
                        .errors
                        .push(format!("cannot read the lister's records: {e}"));
                    if permanent {
                        // A missing or denied table fails every instance the
                        // same way: one error, and nothing listed or sent.
                        report.duration_ms = started.elapsed().as_millis() as i64;
                        return report;
                    }
                    // Without them every instance gets a full listing: slower, still correct.
                    (HashMap::new(), None)
                }
            };
        let targets = resume_order(self.discover(&mut report).await, resume_after.as_deref());
        // Instances discovery left out (stopped, filtered) cost no listing.
        self.record_cycles(&[], &report.skipped, &previous, now_ms)
            .await;
        let round = self.settings.concurrency.max(1) * ROUND_PER_CONCURRENCY;
        // How many targets, in order, got their turn (a prefix: listings
        // start in order, and none starts once time is out).
        let mut reached = 0;
        for chunk in targets.chunks(round) {
            if out_of_time() {
                break;
            }
            let outcomes: Vec<Option<ScanOutcome>> = stream::iter(chunk.iter().cloned())
                .map(|target| {
                    let previous = previous.get(&target.instance.id);
                    async move {
                        // A listing not started in time waits for the next cycle.
                        if out_of_time() {
                            return None;
                        }
                        Some(self.scan(target, previous, now_ms).await)
                    }
                })
                .buffered(self.settings.concurrency.max(1))
                .collect()
                .await;
            let mut scans = Vec::new();
            let mut skipped = Vec::new();
            for outcome in outcomes.into_iter().flatten() {
                reached += 1;
                match outcome {
                    ScanOutcome::Listed(scan) => scans.push(scan),
                    ScanOutcome::Skipped(s) => skipped.push(s),
                }
            }
            self.enqueue(&mut scans, now_ms).await;
            self.record_cycles(&scans, &skipped, &previous, now_ms)
                .await;
            report.instances.extend(scans.into_iter().map(|s| s.report));
            report.skipped.extend(skipped);
        }
        let not_reached = &targets[reached..];
        report.not_reached = not_reached.iter().map(target_name).collect();
        report.oldest_listing_age_ms = not_reached
            .iter()
            .filter_map(|t| previous.get(&t.instance.id))
            .map(|p| now_ms - p.at_ms)
            .max();
        report.throttled = self
            .regions
            .iter()
            .map(|r| r.catalog.take_throttled())
            .sum();
        report.duration_ms = started.elapsed().as_millis() as i64;
        let fleet = FleetCycle {
            at_ms: now_ms,
            duration_ms: report.duration_ms,
            instances: report.instances.len() as u64,
            skipped: report.skipped.len() as u64,
            failed: report.problems().len() as u64,
            enqueued: report.enqueued() as u64,
            lost: report.lost() as u64,
            not_reached: report.not_reached.len() as u64,
            oldest_listing_age_ms: report.oldest_listing_age_ms,
            // The next cycle starts after the last instance this one reached
            // (where this one started, if it reached none).
            resume_after: (reached < targets.len())
                .then(|| match reached.checked_sub(1) {
                    Some(last) => Some(target_name(&targets[last])),
                    None => resume_after,
                })
                .flatten(),
        };
        if let Err(e) = self.state.record_fleet_cycle(&fleet).await {
            report.errors.push(format!("cannot record the cycle: {e}"));
        }
        report
    }

    /// The Lambda handler for the EventBridge schedule: one cycle within
    /// the invocation's `remaining` time less the margin (at most a tenth
    /// of it), then the due daily manifests (with `manifests`), reported; an
    /// error when any region, instance or version was left out, so the
    /// failure shows in the function's error metric (the next cycle
    /// retries). Instances not reached in time are no error: the next
    /// cycle starts with them, and the report and metrics count them.
    pub async fn handle_scheduled<A: ManifestArchive>(
        &self,
        _event: EventBridgeEvent,
        remaining: Option<Duration>,
        manifests: Option<&DailyManifests<A>>,
    ) -> Result<CycleReport> {
        let budget = remaining.map(|r| self.settings.budget(r));
        let deadline = budget.map(|b| Instant::now() + b);
        let now_ms = crate::now_ms();
        let mut report = self.run_cycle_within(now_ms, budget).await;
        if let Some(manifests) = manifests {
            self.write_manifests(manifests, &mut report, now_ms, deadline)
                .await;
        }
        crate::metrics::record_cycle(&report);
        tracing::info!(
            instances = report.instances.len(),
            skipped = report.skipped.len(),
            not_reached = report.not_reached.len(),
            oldest_listing_age_ms = report.oldest_listing_age_ms,
            enqueued = report.enqueued(),
            lost = report.lost(),
            near_retention = report.near_retention(),
            throttled = report.throttled,
            manifests_written = report.manifests_written,
            duration_ms = report.duration_ms,
            "lister cycle done"
        );
        let problems = report.problems();
        if problems.is_empty() {
            Ok(report)
        } else {
            Err(Error::IncompleteCycle { problems })
        }
    }

    /// Every instance in scope, in every region, each once.
    async fn discover(&self, report: &mut CycleReport) -> Vec<Target> {
        let mut targets = Vec::new();
        for region in &self.regions {
            match region.catalog.instances().await {
                Ok(found) => {
                    let (chosen, skipped) = self
                        .settings
                        .selection
                        .select(region.region.as_deref(), &found);
                    targets.extend(chosen);
                    report.skipped.extend(skipped);
                }
                Err(e) => {
                    tracing::error!(target: OUTCOME_LOG, error = %e, "region skipped this cycle");
                    report.errors.push(e.to_string());
                }
            }
        }
        let (targets, duplicates) = unique_across_regions(targets);
        report.skipped.extend(duplicates);
        for skipped in &report.skipped {
            tracing::info!(instance = %skipped.instance, reason = %skipped.reason, "instance skipped");
        }
        targets
    }

    /// Writes each instance's cycle record when something changed, or when
    /// the last one is older than `LISTER_RECORD_REFRESH_MS`: a quiet fleet
    /// costs one write per instance per hour, not per cycle.
    async fn record_cycles(
        &self,
        scans: &[InstanceScan],
        skipped: &[Skipped],
        previous: &HashMap<String, InstanceCycle>,
        now_ms: i64,
    ) {
        let mut records = Vec::new();
        for scan in scans {
            let r = &scan.report;
            let prev = previous.get(&r.instance);
            let error = r.error.clone().or_else(|| {
                // Versions not enqueued may be older than the next bound: list
                // everything next time.
                (r.not_enqueued > 0).then(|| format!("{} versions not enqueued", r.not_enqueued))
            });
            let record = InstanceCycle {
                instance: r.instance.clone(),
                at_ms: now_ms,
                listed_from_ms: r.listed_from_ms,
                full_listing_ms: if scan.full_listing {
                    Some(now_ms)
                } else {
                    prev.and_then(|p| p.full_listing_ms)
                },
                listed: r.listed as u64,
                enqueued: r.enqueued as u64,
                lost: r.lost as u64,
                skipped: None,
                error,
                resource_id: r.resource_id.clone(),
                manifest: prev.and_then(|p| p.manifest.clone()),
            };
            let due = prev.is_none_or(|p| {
                scan.full_listing
                    || record.enqueued > 0
                    || record.lost > 0
                    || record.error.is_some()
                    || p.error.is_some()
                    || p.skipped.is_some()
                    || p.resource_id != record.resource_id
                    || now_ms - p.at_ms >= LISTER_RECORD_REFRESH_MS
            });
            if due {
                records.push(record);
            }
        }
        for s in skipped {
            let prev = previous.get(&s.instance);
            let due = prev.is_none_or(|p| {
                p.skipped.as_deref() != Some(s.reason.as_str())
                    || now_ms - p.at_ms >= LISTER_RECORD_REFRESH_MS
            });
            if due {
                records.push(InstanceCycle {
                    instance: s.instance.clone(),
                    at_ms: now_ms,
                    full_listing_ms: prev.and_then(|p| p.full_listing_ms),
                    skipped: Some(s.reason.clone()),
                    manifest: prev.and_then(|p| p.manifest.clone()),
                    ..InstanceCycle::default()
                });
            }
        }
        let writes = stream::iter(records)
            .map(|record| async move {
                (
                    self.state.record_instance_cycle(&record).await,
                    record.instance,
                )
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        for (result, instance) in writes {
            if let Err(e) = result {
                // The next cycle falls back to a wider listing; nothing is lost.
                tracing::warn!(instance, error = %e, "could not record the instance's cycle");
            }
        }
    }
}

#[cfg(test)]
mod reuse_tests;
#[cfg(test)]
mod tests;
