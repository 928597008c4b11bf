//! Configuration shared by the Lambdas and the CLI: `RDSLOGS_*` environment
//! variables (CLI flags override them), checked once at start.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::error::Error;
use crate::fleet::{FileFilter, InstanceSelection, parse_tags, split_list};
use crate::layout::{Compression, DEFAULT_TEMPLATE, KeyLayout};
use crate::message::{validate_instance, validate_region};

mod parse;
mod stack;
use parse::{flag, invalid, number, required, url};
pub use stack::{STACK, STACK_OUTPUTS, StackOutput, output_of};

pub const INSTANCES: &str = "RDSLOGS_INSTANCES";
pub const BUCKET: &str = "RDSLOGS_BUCKET";
pub const PREFIX: &str = "RDSLOGS_PREFIX";
pub const STATE_TABLE: &str = "RDSLOGS_STATE_TABLE";
pub const QUEUE_URL: &str = "RDSLOGS_QUEUE_URL";
pub const DLQ_URL: &str = "RDSLOGS_DLQ_URL";
pub const PART_SIZE_MIB: &str = "RDSLOGS_PART_SIZE_MIB";
pub const PARTS_IN_FLIGHT: &str = "RDSLOGS_PARTS_IN_FLIGHT";
pub const WORKER_CONCURRENCY: &str = "RDSLOGS_WORKER_CONCURRENCY";
pub const MIN_RECORD_SECS: &str = "RDSLOGS_MIN_RECORD_SECS";
pub const IN_FLIGHT_TIMEOUT_SECS: &str = "RDSLOGS_IN_FLIGHT_TIMEOUT_SECS";
pub const STALE_UPLOAD_SECS: &str = "RDSLOGS_STALE_UPLOAD_SECS";
pub const CLUSTERS: &str = "RDSLOGS_CLUSTERS";
pub const ENGINES: &str = "RDSLOGS_ENGINES";
pub const TAGS: &str = "RDSLOGS_TAGS";
pub const ALL_INSTANCES: &str = "RDSLOGS_ALL_INSTANCES";
pub const REGIONS: &str = "RDSLOGS_REGIONS";
pub const INCLUDE: &str = "RDSLOGS_INCLUDE";
pub const EXCLUDE: &str = "RDSLOGS_EXCLUDE";
pub const RDS_RATE: &str = "RDSLOGS_RDS_RATE";
pub const RDS_BURST: &str = "RDSLOGS_RDS_BURST";
pub const LISTER_CONCURRENCY: &str = "RDSLOGS_LISTER_CONCURRENCY";
pub const FULL_LISTING_SECS: &str = "RDSLOGS_FULL_LISTING_SECS";
pub const LISTER_MARGIN_SECS: &str = "RDSLOGS_LISTER_MARGIN_SECS";
pub const METRICS_NAMESPACE: &str = crate::metrics::NAMESPACE_VARIABLE;
pub const KEY_TEMPLATE: &str = "RDSLOGS_KEY_TEMPLATE";
pub const COMPRESSION: &str = "RDSLOGS_COMPRESSION";

/// S3's smallest part size for every part but the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The settings as given, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub instances: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub state_table: Option<String>,
    pub queue_url: Option<String>,
    pub dlq_url: Option<String>,
    pub part_size_mib: Option<String>,
    pub parts_in_flight: Option<String>,
    pub worker_concurrency: Option<String>,
    pub min_record_secs: Option<String>,
    pub in_flight_timeout_secs: Option<String>,
    pub stale_upload_secs: Option<String>,
    pub clusters: Option<String>,
    pub engines: Option<String>,
    pub tags: Option<String>,
    pub all_instances: Option<String>,
    pub regions: Option<String>,
    pub include: Option<String>,
    pub exclude: Option<String>,
    pub rds_rate: Option<String>,
    pub rds_burst: Option<String>,
    pub lister_concurrency: Option<String>,
    pub full_listing_secs: Option<String>,
    pub lister_margin_secs: Option<String>,
    pub metrics_namespace: Option<String>,
    pub key_template: Option<String>,
    pub compression: Option<String>,
}

impl RawSettings {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Self {
            instances: get(INSTANCES),
            bucket: get(BUCKET),
            prefix: get(PREFIX),
            state_table: get(STATE_TABLE),
            queue_url: get(QUEUE_URL),
            dlq_url: get(DLQ_URL),
            part_size_mib: get(PART_SIZE_MIB),
            parts_in_flight: get(PARTS_IN_FLIGHT),
            worker_concurrency: get(WORKER_CONCURRENCY),
            min_record_secs: get(MIN_RECORD_SECS),
            in_flight_timeout_secs: get(IN_FLIGHT_TIMEOUT_SECS),
            stale_upload_secs: get(STALE_UPLOAD_SECS),
            clusters: get(CLUSTERS),
            engines: get(ENGINES),
            tags: get(TAGS),
            all_instances: get(ALL_INSTANCES),
            regions: get(REGIONS),
            include: get(INCLUDE),
            exclude: get(EXCLUDE),
            rds_rate: get(RDS_RATE),
            rds_burst: get(RDS_BURST),
            lister_concurrency: get(LISTER_CONCURRENCY),
            full_listing_secs: get(FULL_LISTING_SECS),
            lister_margin_secs: get(LISTER_MARGIN_SECS),
            metrics_namespace: get(METRICS_NAMESPACE),
            key_template: get(KEY_TEMPLATE),
            compression: get(COMPRESSION),
        }
    }

    /// Which instances the lister covers; at least one way must be given.
    pub fn selection(&self) -> Result<InstanceSelection, Error> {
        let list = |value: &Option<String>| value.as_deref().map(split_list).unwrap_or_default();
        let selection = InstanceSelection {
            instances: list(&self.instances),
            clusters: list(&self.clusters),
            engines: list(&self.engines),
            tags: match &self.tags {
                Some(text) => parse_tags(text).map_err(|reason| invalid(TAGS, &reason))?,
                None => Vec::new(),
            },
            all: flag(ALL_INSTANCES, &self.all_instances)?,
        };
        for id in &selection.instances {
            validate_instance(id).map_err(|reason| invalid(INSTANCES, &reason))?;
        }
        for id in &selection.clusters {
            validate_instance(id).map_err(|reason| invalid(CLUSTERS, &reason))?;
        }
        if selection.is_empty() {
            return Err(invalid(
                INSTANCES,
                "no instance is selected: set RDSLOGS_INSTANCES, RDSLOGS_CLUSTERS, \
                 RDSLOGS_ENGINES, RDSLOGS_TAGS or RDSLOGS_ALL_INSTANCES=true",
            ));
        }
        Ok(selection)
    }

    /// RDSLOGS_REGIONS, each checked; empty means the SDK's own region.
    pub fn regions(&self) -> Result<Vec<String>, Error> {
        let regions = self.regions.as_deref().map(split_list).unwrap_or_default();
        for region in &regions {
            validate_region(region).map_err(|reason| invalid(REGIONS, &reason))?;
        }
        Ok(regions)
    }

    pub fn lister(&self) -> Result<ListerConfig, Error> {
        let regions = self.regions()?;
        let (rds_rate, rds_burst) = self.rds_rate()?;
        let (prefix, layout) = self.layout()?;
        Ok(ListerConfig {
            manifests: match &self.bucket {
                Some(_) => Some(ManifestTarget {
                    bucket: self.bucket()?,
                    prefix,
                }),
                None => None,
            },
            selection: self.selection()?,
            regions,
            file_filter: self.file_filter()?,
            rds_rate,
            rds_burst,
            concurrency: number(LISTER_CONCURRENCY, &self.lister_concurrency, 8, 1..=64)? as usize,
            full_listing_every: Duration::from_secs(number(
                FULL_LISTING_SECS,
                &self.full_listing_secs,
                3600,
                0..=7 * 24 * 3600,
            )?),
            state_table: self.state_table()?,
            queue_url: self.queue_url()?,
            layout,
            in_flight_timeout: Duration::from_secs(number(
                IN_FLIGHT_TIMEOUT_SECS,
                &self.in_flight_timeout_secs,
                3600,
                1..=7 * 24 * 3600,
            )?),
            deadline_margin: Duration::from_secs(number(
                LISTER_MARGIN_SECS,
                &self.lister_margin_secs,
                30,
                0..=600,
            )?),
        })
    }

    /// RDSLOGS_INCLUDE and RDSLOGS_EXCLUDE, each checked on its own so an
    /// error names the right one.
    pub fn file_filter(&self) -> Result<FileFilter, Error> {
        let patterns =
            |value: &Option<String>| value.as_deref().map(split_list).unwrap_or_default();
        FileFilter::new(&patterns(&self.include), &[])
            .map_err(|reason| invalid(INCLUDE, &reason))
            .and_then(|_| {
                FileFilter::new(&patterns(&self.include), &patterns(&self.exclude))
                    .map_err(|reason| invalid(EXCLUDE, &reason))
            })
    }

    /// RDS describe calls per second and the burst allowed (RDSLOGS_RDS_RATE,
    /// RDSLOGS_RDS_BURST).
    pub fn rds_rate(&self) -> Result<(NonZeroU32, NonZeroU32), Error> {
        let rate = number(RDS_RATE, &self.rds_rate, 10, 1..=100)?;
        let burst = number(RDS_BURST, &self.rds_burst, 100, 1..=300)?;
        Ok((
            NonZeroU32::new(rate as u32).expect("range starts at 1"),
            NonZeroU32::new(burst as u32).expect("range starts at 1"),
        ))
    }

    /// RDSLOGS_BUCKET, checked by S3's naming rules.
    pub fn bucket(&self) -> Result<String, Error> {
        let bucket = required(BUCKET, &self.bucket)?;
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if valid_bucket {
            Ok(bucket)
        } else {
            Err(invalid(
                BUCKET,
                &format!("{bucket:?} is not a valid S3 bucket name"),
            ))
        }
    }

    /// RDSLOGS_PREFIX, `rds-logs` when unset.
    pub fn prefix(&self) -> String {
        self.prefix.clone().unwrap_or_else(|| "rds-logs".to_owned())
    }

    pub fn worker(&self) -> Result<WorkerConfig, Error> {
        let bucket = self.bucket()?;
        let part_mib = number(PART_SIZE_MIB, &self.part_size_mib, 8, 5..=512)?;
        let (prefix, layout) = self.layout()?;
        Ok(WorkerConfig {
            bucket,
            prefix,
            layout,
            state_table: self.state_table()?,
            part_size: part_mib as usize * 1024 * 1024,
            parts_in_flight: number(PARTS_IN_FLIGHT, &self.parts_in_flight, 2, 1..=16)? as usize,
            // Lambda's longest timeout: no live upload is older.
            stale_upload_after: Duration::from_secs(number(
                STALE_UPLOAD_SECS,
                &self.stale_upload_secs,
                900,
                0..=7 * 24 * 3600,
            )?),
            batch: BatchSettings {
                records_at_once: number(WORKER_CONCURRENCY, &self.worker_concurrency, 10, 1..=10)?
                    as usize,
                min_record_time: Duration::from_secs(number(
                    MIN_RECORD_SECS,
                    &self.min_record_secs,
                    30,
                    1..=900,
                )?),
            },
        })
    }

    /// The prefix and the key layout (RDSLOGS_PREFIX, RDSLOGS_KEY_TEMPLATE,
    /// RDSLOGS_COMPRESSION): the worker writes by it, the lister checks by it.
    pub fn layout(&self) -> Result<(String, KeyLayout), Error> {
        let prefix = self.prefix();
        let compression = Compression::parse(self.compression.as_deref().unwrap_or("none"))
            .map_err(|reason| invalid(COMPRESSION, &reason))?;
        let template = self.key_template.as_deref().unwrap_or(DEFAULT_TEMPLATE);
        let layout = KeyLayout::new(template, &prefix, compression)
            .map_err(|reason| invalid(KEY_TEMPLATE, &reason))?;
        Ok((prefix, layout))
    }

    /// The CloudWatch namespace of the functions' metrics.
    pub fn metrics_namespace(&self) -> Result<String, Error> {
        let namespace = self
            .metrics_namespace
            .as_deref()
            .map_or(crate::metrics::DEFAULT_NAMESPACE, str::trim);
        let valid = (1..=255).contains(&namespace.len())
            && !namespace.starts_with(':')
            && namespace.chars().all(|c| c.is_ascii_graphic() || c == ' ');
        if valid {
            Ok(namespace.to_owned())
        } else {
            Err(invalid(
                METRICS_NAMESPACE,
                &format!("{namespace:?} is not a CloudWatch namespace"),
            ))
        }
    }

    pub fn state_table(&self) -> Result<String, Error> {
        required(STATE_TABLE, &self.state_table)
    }

    pub fn queue_url(&self) -> Result<String, Error> {
        url(QUEUE_URL, required(QUEUE_URL, &self.queue_url)?)
    }

    pub fn dlq_url(&self) -> Result<String, Error> {
        url(DLQ_URL, required(DLQ_URL, &self.dlq_url)?)
    }
}

/// What one lister cycle needs.
#[derive(Debug, Clone)]
pub struct ListerConfig {
    pub selection: InstanceSelection,
    /// Regions to cover; empty means the SDK's own region.
    pub regions: Vec<String>,
    pub file_filter: FileFilter,
    /// Describe calls per second per region, and the burst allowed.
    pub rds_rate: NonZeroU32,
    pub rds_burst: NonZeroU32,
    /// Instances listed at once.
    pub concurrency: usize,
    /// Longest time between two listings of all of an instance's files
    /// (the ones in between only ask for recently written files).
    pub full_listing_every: Duration,
    pub state_table: String,
    pub queue_url: String,
    /// The worker's key layout, to refuse keys S3 would refuse.
    pub layout: KeyLayout,
    pub in_flight_timeout: Duration,
    /// How long before the invocation's deadline the lister stops starting
    /// listings: enough to send and record the last round.
    pub deadline_margin: Duration,
    /// Where the daily manifests go: the bucket (RDSLOGS_BUCKET, for the
    /// lister too) and the key prefix. `None`: no bucket, no manifests.
    pub manifests: Option<ManifestTarget>,
}

/// The bucket and prefix of the daily manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestTarget {
    pub bucket: String,
    pub prefix: String,
}

/// What the worker needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub bucket: String,
    pub prefix: String,
    /// Where each version goes, with `prefix` and the compression.
    pub layout: KeyLayout,
    pub state_table: String,
    pub part_size: usize,
    pub parts_in_flight: usize,
    /// Unfinished multipart uploads of a key older than this are aborted
    /// before a new upload of that key starts.
    pub stale_upload_after: Duration,
    pub batch: BatchSettings,
}

/// How the worker works through a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Records shipped at once; as many as a batch holds (10) by default, so
    /// a batch goes in one wave. Memory is about this many times (parts in
    /// flight + 2) × part size (ship-bench --first-sync).
    pub records_at_once: usize,
    /// A record is not started with less of the invocation left than this.
    pub min_record_time: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            records_at_once: 10,
            min_record_time: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests;
