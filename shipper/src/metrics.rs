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
