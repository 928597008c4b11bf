//! The pipeline's CloudWatch metrics: their names (the dashboard uses the
//! same), what each handler records through the `metrics` facade, and the
//! Embedded Metric Format recorder the Lambdas install and flush to stdout.
//! Without a recorder (tests, the CLI) recording costs nothing.

use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use metrics_cloudwatch_embedded::Collector;

use crate::lister::CycleReport;
use crate::worker::{RecordResult, SyncOutcome};

pub const DEFAULT_NAMESPACE: &str = "RdsLogShipper";
pub const NAMESPACE_VARIABLE: &str = "RDSLOGS_METRICS_NAMESPACE";

pub const LOG_FILE_SHIPPED: &str = "LogFileShipped";
pub const LOG_BYTES_SHIPPED: &str = "LogBytesShipped";
pub const LOG_FILE_FAILED: &str = "LogFileFailed";
pub const SHIP_LAG_SECONDS: &str = "ShipLagSeconds";
pub const LOG_FILE_LOST: &str = "LogFileLost";
pub const LOG_FILE_ENQUEUED: &str = "LogFileEnqueued";
pub const RDS_THROTTLED: &str = "RdsThrottled";
pub const INSTANCE_SKIPPED: &str = "InstanceSkipped";
pub const LISTER_CYCLE_SECONDS: &str = "ListerCycleSeconds";
pub const INSTANCES_NOT_REACHED: &str = "InstancesNotReached";
pub const OLDEST_LISTING_AGE_SECONDS: &str = "OldestListingAgeSeconds";
/// The dimension of `LogFileFailed` that says why (`Error::reason_code`).
pub const REASON: &str = "Reason";

/// Installs the EMF recorder for the process (once, in a Lambda's main).
pub fn install_emf(namespace: &str) -> Result<&'static Collector, String> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace.to_owned())
        .init()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe();
    Ok(collector)
}

/// Writes what was recorded since the last flush as EMF documents on
/// stdout, where the Lambda's log stream turns them into metrics.
pub fn flush(collector: &Collector) {
    if let Err(e) = collector.flush(std::io::stdout().lock()) {
        tracing::warn!(error = %e, "could not write metrics");
    }
}

fn describe() {
    describe_counter!(LOG_FILE_SHIPPED, Unit::Count, "file versions written to S3");
    describe_counter!(
        LOG_BYTES_SHIPPED,
        Unit::Bytes,
        "bytes of RDS log files shipped"
    );
    describe_counter!(
        LOG_FILE_FAILED,
        Unit::Count,
        "failed attempts to ship a file version"
    );
    describe_gauge!(
        SHIP_LAG_SECONDS,
        Unit::Seconds,
        "age of the newest write when shipped"
    );
    describe_counter!(
        LOG_FILE_LOST,
        Unit::Count,
        "versions RDS deleted before they shipped"
    );
    describe_counter!(
        LOG_FILE_ENQUEUED,
        Unit::Count,
        "file versions sent to the work queue"
    );
    describe_counter!(
        RDS_THROTTLED,
        Unit::Count,
        "RDS answers that throttled the lister"
    );
    describe_counter!(
        INSTANCE_SKIPPED,
        Unit::Count,
        "instances left out of a cycle"
    );
    describe_gauge!(
        LISTER_CYCLE_SECONDS,
        Unit::Seconds,
        "wall time of a lister cycle"
    );
    describe_gauge!(
        INSTANCES_NOT_REACHED,
        Unit::Count,
        "instances a cycle had no time to list"
    );
    describe_gauge!(
        OLDEST_LISTING_AGE_SECONDS,
        Unit::Seconds,
        "how long ago the least recently listed instance was listed"
    );
}

/// What one lister cycle adds to the metrics.
pub fn record_cycle(report: &CycleReport) {
    counter!(LOG_FILE_ENQUEUED).increment(report.enqueued() as u64);
    counter!(LOG_FILE_LOST).increment(report.lost() as u64);
    counter!(RDS_THROTTLED).increment(report.throttled);
    counter!(INSTANCE_SKIPPED).increment(report.skipped.len() as u64);
    gauge!(LISTER_CYCLE_SECONDS).set(report.duration_ms as f64 / 1000.0);
    gauge!(INSTANCES_NOT_REACHED).set(report.not_reached.len() as f64);
    // 0 when every instance was listed, so the alarm clears.
    gauge!(OLDEST_LISTING_AGE_SECONDS)
        .set(report.oldest_listing_age_ms.unwrap_or(0).max(0) as f64 / 1000.0);
}

/// What one worker batch adds: shipped files and bytes, failures with and
/// without their reason, and the largest lag of the batch.
pub fn record_batch(results: &[RecordResult], now_ms: i64) {
    let mut lag_ms = None;
    for r in results {
        match &r.result {
            Ok(SyncOutcome::Shipped { bytes, .. }) | Ok(SyncOutcome::Superseded { bytes, .. }) => {
                counter!(LOG_FILE_SHIPPED).increment(1);
                counter!(LOG_BYTES_SHIPPED).increment(*bytes);
                if let Some(v) = &r.version {
                    lag_ms = lag_ms.max(Some(now_ms - v.version.last_written_ms));
                }
            }
            Ok(_) => {}
            Err(e) => {
                counter!(LOG_FILE_FAILED).increment(1);
                counter!(LOG_FILE_FAILED, REASON => e.reason_code()).increment(1);
            }
        }
    }
    if let Some(lag) = lag_ms {
        gauge!(SHIP_LAG_SECONDS).set(lag.max(0) as f64 / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::fleet::Skipped;
    use crate::lister::InstanceReport;
    use crate::version::{FileVersion, LogFileVersion};

    fn result(outcome: crate::Result<SyncOutcome>) -> RecordResult {
        RecordResult {
            message_id: "m".into(),
            version: Some(LogFileVersion {
                instance: "db-1".into(),
                file: "a.log".into(),
                version: FileVersion::new(10, 1_000),
                region: None,
                incarnation: None,
            }),
            result: outcome,
        }
    }

    /// The only test that installs the process-wide recorder.
    #[test]
    fn handlers_emit_emf_documents_with_the_dashboards_names() {
        let collector = install_emf("RdsLogShipperTest").unwrap();
        let report = CycleReport {
            instances: vec![InstanceReport {
                enqueued: 3,
                lost: 1,
                ..InstanceReport::default()
            }],
            skipped: vec![Skipped {
                instance: "db-2".into(),
                region: None,
                reason: "status is stopped".into(),
            }],
            throttled: 2,
            duration_ms: 1_500,
            not_reached: vec!["db-3".into()],
            oldest_listing_age_ms: Some(600_000),
            ..CycleReport::default()
        };
        record_cycle(&report);
        record_batch(
            &[
                result(Ok(SyncOutcome::Shipped {
                    key: "k".into(),
                    bytes: 10,
                    stored_bytes: 10,
                    parts: 1,
                })),
                result(Err(Error::MalformedMessage { reason: "x".into() })),
            ],
            61_000,
        );
        let mut out = Vec::new();
        collector.flush(&mut out).unwrap();
        let documents: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let metric = |name: &str, dimension: Option<&str>| {
            documents.iter().find_map(|d| {
                let directive = &d["_aws"]["CloudWatchMetrics"][0];
                let dims = directive["Dimensions"][0].as_array().unwrap();
                let dims_match = match dimension {
                    None => dims.is_empty(),
                    Some(want) => dims.iter().any(|x| x == want),
                };
                let declared = directive["Metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["Name"] == name)?;
                (dims_match && directive["Namespace"] == "RdsLogShipperTest")
                    .then(|| (d[name].clone(), declared["Unit"].clone()))
            })
        };
        // Other tests run handlers meanwhile, so values are at least these.
        let count = |name, dimension| {
            metric(name, dimension)
                .unwrap_or_else(|| panic!("{name} missing in {documents:?}"))
                .0
                .as_f64()
                .unwrap()
        };
        assert!(count(LOG_FILE_ENQUEUED, None) >= 3.0);
        assert!(count(LOG_FILE_LOST, None) >= 1.0);
        assert!(count(RDS_THROTTLED, None) >= 2.0);
        assert!(count(INSTANCE_SKIPPED, None) >= 1.0);
        assert!(count(LOG_FILE_SHIPPED, None) >= 1.0);
        assert!(count(LOG_BYTES_SHIPPED, None) >= 10.0);
        assert!(count(LOG_FILE_FAILED, None) >= 1.0);
        assert!(count(LOG_FILE_FAILED, Some(REASON)) >= 1.0);
        assert!(count(SHIP_LAG_SECONDS, None) >= 0.0);
        assert_eq!(metric(LOG_BYTES_SHIPPED, None).unwrap().1, "Bytes");
        assert_eq!(metric(LISTER_CYCLE_SECONDS, None).unwrap().1, "Seconds");
        assert!(count(INSTANCES_NOT_REACHED, None) >= 0.0);
        assert_eq!(
            metric(OLDEST_LISTING_AGE_SECONDS, None).unwrap().1,
            "Seconds"
        );
    }
}
