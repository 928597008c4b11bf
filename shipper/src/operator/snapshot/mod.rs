//! Manual snapshots made by `rdslogs snapshot`: when one may be taken, its
//! name and tag, and the RDS calls behind a small trait.

mod rds;

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

pub use rds::RdsSnapshots;

use crate::error::Result;

/// The tag every snapshot made by this tool carries.
pub const TAG_KEY: &str = "created-by";
pub const TAG_VALUE: &str = "rdslogs";

/// How late a requested snapshot time may be and still be taken at once:
/// the command's own start-up, not a time that has passed.
pub const LATE_TOLERANCE_MS: i64 = 60_000;

/// When to take a snapshot asked for at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Now,
    After(Duration),
}

/// The rdsrecorder rule: a snapshot "at T" needs T to be ahead, because a
/// snapshot taken later would not show the database as it was at T. A time
/// in the future is waited for; one up to a minute past is taken now; an
/// older one is refused.
pub fn start(at_ms: Option<i64>, now_ms: i64) -> Result<Start, String> {
    match at_ms {
        None => Ok(Start::Now),
        Some(at) if at > now_ms => Ok(Start::After(Duration::from_millis((at - now_ms) as u64))),
        Some(at) if now_ms - at <= LATE_TOLERANCE_MS => Ok(Start::Now),
        Some(at) => Err(format!(
            "the snapshot time is {} s in the past; a snapshot cannot be taken in the past \
             (give a future time, or none for now)",
            (now_ms - at) / 1000
        )),
    }
}

/// What is snapshotted: an instance, or the Aurora cluster it belongs to
/// (RDS snapshots cluster members only as a whole cluster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Source {
    Instance(String),
    Cluster(String),
}

impl Source {
    pub fn id(&self) -> &str {
        match self {
            Source::Instance(id) | Source::Cluster(id) => id,
        }
    }
}

/// `rdslogs-<source>-<yyyymmdd>-<hhmmss>` in UTC: a valid RDS snapshot
/// identifier (source identifiers follow the same rules), sortable by time.
pub fn snapshot_id(source: &Source, at_ms: i64) -> String {
    let stamp = aws_smithy_types::DateTime::from_secs(at_ms.div_euclid(1000))
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("rdslogs-{}-{date}-{time}", source.id().to_ascii_lowercase())
}

/// The tool's tag first, then the operator's own.
pub fn tags(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut tags = vec![(TAG_KEY.to_owned(), TAG_VALUE.to_owned())];
    tags.extend(extra.iter().filter(|(k, _)| k != TAG_KEY).cloned());
    tags
}

/// A snapshot as RDS describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub id: String,
    pub source: Source,
    pub status: String,
    pub created_ms: Option<i64>,
    pub arn: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// Where a snapshot is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Available,
    Creating,
    /// `failed`, `incompatible-*` and other states it will not leave.
    Failed,
}

impl SnapshotInfo {
    pub fn progress(&self) -> Progress {
        match self.status.as_str() {
            "available" => Progress::Available,
            "creating" | "pending" | "copying" | "backing-up" => Progress::Creating,
            _ => Progress::Failed,
        }
    }
}

pub trait SnapshotService: Send + Sync {
    /// What to snapshot for an instance: itself, or its Aurora cluster.
    fn source_of(&self, instance: &str) -> impl Future<Output = Result<Source>> + Send;

    fn create(
        &self,
        source: &Source,
        id: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<SnapshotInfo>> + Send;

    fn describe(
        &self,
        source: &Source,
        id: &str,
    ) -> impl Future<Output = Result<SnapshotInfo>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_time_is_waited_for_a_past_one_refused() {
        let now = 1_000_000;
        assert_eq!(start(None, now), Ok(Start::Now));
        assert_eq!(
            start(Some(now + 5_000), now),
            Ok(Start::After(Duration::from_secs(5)))
        );
        assert_eq!(start(Some(now), now), Ok(Start::Now));
        assert_eq!(start(Some(now - LATE_TOLERANCE_MS), now), Ok(Start::Now));
        let refused = start(Some(now - LATE_TOLERANCE_MS - 1), now).unwrap_err();
        assert!(refused.contains("in the past"), "{refused}");
    }

    #[test]
    fn snapshot_ids_name_the_source_and_the_utc_second() {
        let at = 1_795_404_600_999; // 2026-11-23T03:30:00.999Z
        assert_eq!(
            snapshot_id(&Source::Instance("PG-Orders".into()), at),
            "rdslogs-pg-orders-20261123-033000"
        );
        assert_eq!(
            snapshot_id(&Source::Cluster("aurora-1".into()), at),
            "rdslogs-aurora-1-20261123-033000"
        );
    }

    #[test]
    fn the_tool_tag_comes_first_and_cannot_be_replaced() {
        let extra = vec![
            ("ticket".to_owned(), "OPS-1".to_owned()),
            (TAG_KEY.to_owned(), "someone".to_owned()),
        ];
        assert_eq!(
            tags(&extra),
            vec![
                (TAG_KEY.to_owned(), TAG_VALUE.to_owned()),
                ("ticket".to_owned(), "OPS-1".to_owned())
            ]
        );
    }

    #[test]
    fn statuses_map_to_progress() {
        let info = |status: &str| SnapshotInfo {
            id: "s".into(),
            source: Source::Instance("db".into()),
            status: status.into(),
            created_ms: None,
            arn: None,
            tags: Vec::new(),
        };
        assert_eq!(info("available").progress(), Progress::Available);
        assert_eq!(info("creating").progress(), Progress::Creating);
        assert_eq!(info("failed").progress(), Progress::Failed);
    }
}
