//! What a lister cycle did, per instance and as a whole: what the CLI
//! prints, the Lambda logs and returns, and the metrics count.

use serde::Serialize;

use crate::fleet::Skipped;

/// What a cycle did for one instance.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct InstanceReport {
    pub instance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The instance's `DbiResourceId` (which incarnation was listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The `FileLastWritten` bound of the listing; `None` listed every file.
    pub listed_from_ms: Option<i64>,
    pub listed: usize,
    pub unchanged: usize,
    pub in_flight: usize,
    /// Left out by the include and exclude patterns.
    pub filtered: usize,
    pub enqueued: usize,
    /// Versions that could not be enqueued; the next cycle tries them again.
    pub not_enqueued: usize,
    /// Unshipped versions RDS deleted, or replaced under the same name,
    /// before they could ship.
    pub lost: usize,

    /// Unshipped files close to the end of RDS's retention.
    pub near_retention: usize,
    /// Why the instance could not be processed, if it could not.
    pub error: Option<String>,
    /// Versions never enqueued because they cannot ship as configured (a
    /// key over S3's limit), each with what to fix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unshippable: Vec<String>,
}

/// What a whole cycle did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct CycleReport {
    pub instances: Vec<InstanceReport>,
    /// Instances left out with a reason (stopped, not found, filtered).
    pub skipped: Vec<Skipped>,
    /// Failures that are not one instance's: a region that could not be
    /// described, a state table that could not be read.
    pub errors: Vec<String>,
    /// Throttling answers from RDS during the cycle (retried by the SDK).
    pub throttled: u64,
    /// Instances in scope the cycle had no time to list (`region/id` when
    /// the lister covers several regions); the next cycle starts with them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_reached: Vec<String>,
    /// How long ago the least recently listed of those was listed: how far
    /// behind the lister is on the fleet (none when every instance was
    /// listed, or those left were never listed).
    pub oldest_listing_age_ms: Option<i64>,
    pub duration_ms: i64,
    /// Daily manifests written after the cycle (docs/manifests.md).
    pub manifests_written: usize,
}

impl CycleReport {
    fn sum(&self, f: impl Fn(&InstanceReport) -> usize) -> usize {
        self.instances.iter().map(f).sum()
    }

    pub fn enqueued(&self) -> usize {
        self.sum(|i| i.enqueued)
    }

    pub fn lost(&self) -> usize {
        self.sum(|i| i.lost)
    }

    pub fn near_retention(&self) -> usize {
        self.sum(|i| i.near_retention)
    }

    /// Regions or instances that failed, or versions that could not be
    /// enqueued. Skipped instances are not problems: their reason is recorded.
    pub fn problems(&self) -> Vec<String> {
        let instances = self
            .instances
            .iter()
            .filter_map(|i| match (&i.error, i.not_enqueued) {
                (Some(e), _) => Some(format!("{}: {e}", i.instance)),
                (None, n) if n > 0 => Some(format!("{}: {n} versions not enqueued", i.instance)),
                _ => None,
            });
        let unshippable = self
            .instances
            .iter()
            .flat_map(|i| i.unshippable.iter().cloned());
        self.errors
            .iter()
            .cloned()
            .chain(instances)
            .chain(unshippable)
            .collect()
    }
}
