//! The RDS checks: the instance selection resolves to instances that list
//! log files, and one signed REST download of the smallest listed file.

use std::time::Instant;

use futures_util::{StreamExt, stream};

use super::{Check, FleetScope, call_fix, setting_fix};
use crate::error::{DownloadError, Error};
use crate::fleet::{Skipped, Target, unique_across_regions};
use crate::lister::RegionCatalog;
use crate::rds::{LogCatalog, LogSource};

pub const INSTANCES: &str = "instances";
pub const DOWNLOAD: &str = "signed download";

/// Instances listed at once.
const LISTINGS: usize = 4;
/// Failed instances shown one per line; the rest are counted.
const MAX_PROBLEM_LINES: usize = 20;

/// The file the download check fetches: the smallest with any bytes (an
/// empty file proves the signature, not the body), else an empty one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallestFile {
    pub region: Option<String>,
    pub instance: String,
    pub file: String,
    pub size: u64,
}

/// Orders candidates for the download: non-empty first, then smaller.
fn preference(size: u64) -> (bool, u64) {
    (size == 0, size)
}

pub struct Found {
    pub checks: Vec<Check>,
    pub smallest: Option<SmallestFile>,
}

/// What one instance's listing found.
enum Listing {
    Files {
        listed: usize,
        accepted: usize,
        smallest: Option<SmallestFile>,
    },
    Failed(Error),
}

/// One line for the selection as a whole, and one per instance that will
/// not ship (named but missing, stopped, filtered out, listing nothing or
/// failing to list).
pub async fn instances<C: LogCatalog>(
    catalogs: &[RegionCatalog<C>],
    scope: &Result<FleetScope, Error>,
) -> Found {
    let scope = match scope {
        Ok(scope) => scope,
        Err(e) => {
            return Found {
                checks: vec![Check::failed(INSTANCES, e.to_string(), setting_fix(e))],
                smallest: None,
            };
        }
    };
    let mut checks = Vec::new();
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for region in catalogs {
        match region.catalog.instances().await {
            Ok(found) => {
                let (chosen, left_out) = scope.selection.select(region.region.as_deref(), &found);
                targets.extend(chosen);
                skipped.extend(left_out);
            }
            Err(e) => checks.push(Check::failed(
                INSTANCES,
                e.to_string(),
                call_fix(
                    error_code(&e),
                    "rds:DescribeDBInstances",
                    "arn:aws:rds:*:*:db:*",
                ),
            )),
        }
    }
    let (targets, duplicates) = unique_across_regions(targets);
    skipped.extend(duplicates);
    let listings: Vec<(Target, Listing)> = stream::iter(targets)
        .map(|target| async {
            let listing = list(catalogs, &target, scope).await;
            (target, listing)
        })
        .buffered(LISTINGS)
        .collect()
        .await;

    let mut problems: Vec<Check> = skipped.iter().map(skipped_line).collect();
    let mut shipping = Vec::new();
    let mut smallest: Option<SmallestFile> = None;
    for (target, listing) in listings {
        let id = &target.instance.id;
        match listing {
            Listing::Failed(e) => problems.push(Check::failed(
                format!("instance {id}"),
                e.to_string(),
                call_fix(error_code(&e), "rds:DescribeDBLogFiles", &format!("db:{id}")),
            )),
            Listing::Files { listed: 0, .. } => problems.push(Check::failed(
                format!("instance {id}"),
                format!("{id} lists no log files"),
                "turn on the engine's file logs (its parameter group; for MySQL log_output=FILE) \
                 or drop the instance from the selection",
            )),
            Listing::Files { listed, accepted: 0, .. } => problems.push(Check::failed(
                format!("instance {id}"),
                format!("{id} lists {listed} log files, none accepted by RDSLOGS_INCLUDE/RDSLOGS_EXCLUDE"),
                "widen RDSLOGS_INCLUDE or narrow RDSLOGS_EXCLUDE",
            )),
            Listing::Files { accepted, smallest: file, .. } => {
                shipping.push(format!("{id} ({accepted} files)"));
                if let Some(file) = file
                    && smallest
                        .as_ref()
                        .is_none_or(|s| preference(file.size) < preference(s.size))
                {
                    smallest = Some(file);
                }
            }
        }
    }
    let summary = if shipping.is_empty() {
        if checks.is_empty() {
            Check::failed(
                INSTANCES,
                "the selection resolves to no instance that lists log files",
                "compare RDSLOGS_INSTANCES, RDSLOGS_CLUSTERS, RDSLOGS_ENGINES, RDSLOGS_TAGS and \
                 RDSLOGS_REGIONS with `aws rds describe-db-instances`",
            )
        } else {
            Check::skipped(INSTANCES, "no region could be described")
        }
    } else {
        Check::ok(INSTANCES, summarize(&shipping))
    };
    checks.insert(0, summary);
    let hidden = problems.len().saturating_sub(MAX_PROBLEM_LINES);
    problems.truncate(MAX_PROBLEM_LINES);
    checks.extend(problems);
    if hidden > 0 {
        checks.push(Check::failed(
            INSTANCES,
            format!("{hidden} more instances will not ship"),
            "run `rdslogs list-once --json` for every instance's reason",
        ));
    }
    Found { checks, smallest }
}

async fn list<C: LogCatalog>(
    catalogs: &[RegionCatalog<C>],
    target: &Target,
    scope: &FleetScope,
) -> Listing {
    let Some(region) = catalogs.iter().find(|r| r.region == target.region) else {
        // Targets come from these catalogs; a region is never missing.
        return Listing::Files {
            listed: 0,
            accepted: 0,
            smallest: None,
        };
    };
    match region.catalog.log_files(&target.instance.id, None).await {
        Err(e) => Listing::Failed(e),
        Ok(files) => {
            let accepted: Vec<_> = files
                .iter()
                .filter(|f| scope.filter.accepts(&f.name))
                .collect();
            let smallest = accepted
                .iter()
                .min_by_key(|f| preference(f.version.size))
                .map(|f| SmallestFile {
                    region: target.region.clone(),
                    instance: target.instance.id.clone(),
                    file: f.name.clone(),
                    size: f.version.size,
                });
            Listing::Files {
                listed: files.len(),
                accepted: accepted.len(),
                smallest,
            }
        }
    }
}

/// "3 instances: a (12 files), b (8 files), c (1 files)", the first ten named.
fn summarize(shipping: &[String]) -> String {
    let shown: Vec<&str> = shipping.iter().take(10).map(String::as_str).collect();
    let more = shipping.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "{} instances list log files: {}{tail}",
        shipping.len(),
        shown.join(", ")
    )
}

/// An instance the lister would leave out, with the fix for its reason
/// (the reasons are `InstanceSelection::select`'s and `unique_across_regions`').
fn skipped_line(skipped: &Skipped) -> Check {
    let reason = skipped.reason.as_str();
    let fix = if reason == "not found" {
        "check the identifier in RDSLOGS_INSTANCES, and RDSLOGS_REGIONS: it may be in another region"
    } else if reason.starts_with("cluster not found") {
        "check the identifier in RDSLOGS_CLUSTERS, and RDSLOGS_REGIONS"
    } else if reason.starts_with("status is") {
        "start the instance, or drop it from the selection (the lister skips it until it is available)"
    } else if reason.starts_with("engine") || reason.starts_with("lacks tag") {
        "the instance is named but RDSLOGS_ENGINES or RDSLOGS_TAGS exclude it: change one or the other"
    } else if reason.starts_with("an instance of the same name") {
        "drop one of the regions from RDSLOGS_REGIONS, or rename an instance"
    } else {
        "see the reason; the lister leaves the instance out"
    };
    let region = skipped
        .region
        .as_deref()
        .map_or_else(String::new, |r| format!(" in {r}"));
    Check::failed(
        format!("instance {}", skipped.instance),
        format!("{}{region}: {reason}", skipped.instance),
        fix,
    )
}

/// The AWS error code inside a listing error, for the fix.
fn error_code(error: &Error) -> Option<&str> {
    match error {
        Error::Discovery { source, .. } | Error::Listing { source, .. } => source.code(),
        _ => None,
    }
}

/// Downloads the smallest listed file through the REST endpoint, signed
/// with the credentials doctor runs with, and counts its bytes.
pub async fn download<S: LogSource>(source: &S, file: Option<&SmallestFile>) -> Check {
    let Some(file) = file else {
        return Check::skipped(DOWNLOAD, "no listed log file to download");
    };
    let name = format!("{}/{}", file.instance, file.file);
    let started = Instant::now();
    let result = async {
        let mut body = source
            .open(file.region.as_deref(), &file.instance, &file.file)
            .await?;
        let mut received = 0u64;
        while let Some(chunk) = body.next().await {
            received += chunk?.len() as u64;
        }
        Ok::<_, Error>(received)
    }
    .await;
    match result {
        Ok(bytes) => Check::ok(
            DOWNLOAD,
            format!(
                "{name}: {bytes} bytes (listed {}) in {} ms",
                file.size,
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => Check::failed(DOWNLOAD, format!("{name}: {e}"), download_fix(&e)),
    }
}

fn download_fix(error: &Error) -> String {
    match error {
        Error::LogFileGone { .. } => {
            "RDS deleted the file between the listing and the download (rotation); run doctor again"
                .to_owned()
        }
        Error::Download { source: DownloadError::Status { status: 403, .. }, .. } => {
            "allow rds:DownloadCompleteDBLogFile (Resource \"*\") to the identity running doctor; \
             the worker role needs it too"
                .to_owned()
        }
        Error::Download {
            source: DownloadError::Credentials(_) | DownloadError::Signing(_), ..
        } => "check the AWS credentials doctor runs with".to_owned(),
        Error::Download { source: DownloadError::Status { status, .. }, .. } if *status < 500 => {
            "RDS refused the request as shown; check the RDS endpoint (AWS_ENDPOINT_URL_RDS) and region"
                .to_owned()
        }
        _ => "transient trouble (throttling, 5xx, a cut transfer): run doctor again".to_owned(),
    }
}
