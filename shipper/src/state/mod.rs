//! The state table: what was shipped, enqueued and failed, per file, and
//! the lister's records of itself. A port per role (one file's state, the
//! lister's records, the operator's scan), a DynamoDB adapter and an
//! in-memory one for unit tests.

mod dynamodb;
/// Key attribute names of the DynamoDB state table.
pub mod dynamodb_keys {
    pub use super::dynamodb::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
}
mod memory;

use std::future::Future;

pub use dynamodb::DynamoStateTable;
pub use memory::MemoryStateTable;

use serde::Serialize;

use crate::error::Result;
use crate::version::{FileState, LogFileVersion, LostRecord, ShippedRecord};

/// What the lister last did for one instance. Written when something
/// changed, and at least every `LISTER_RECORD_REFRESH_MS`, to keep writes
/// (and cost) low on a quiet fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstanceCycle {
    pub instance: String,
    /// When the lister last listed the instance's log files.
    pub at_ms: i64,
    /// The `FileLastWritten` lower bound of that listing; `None` was a full listing.
    pub listed_from_ms: Option<i64>,
    /// When the lister last listed every file of the instance.
    pub full_listing_ms: Option<i64>,
    pub listed: u64,
    pub enqueued: u64,
    pub lost: u64,
    /// Why the instance was left out (not available, not found), if it was.
    pub skipped: Option<String>,
    /// Why listing the instance failed, if it did.
    pub error: Option<String>,
    /// The instance's `DbiResourceId` at that listing.
    pub resource_id: Option<String>,
    /// The head of the instance's chain of daily manifests: its date and
    /// the SHA-256 of its bytes (`None`: no manifest yet).
    pub manifest: Option<(String, String)>,
}

/// How often an unchanged instance's cycle record is rewritten anyway.
pub const LISTER_RECORD_REFRESH_MS: i64 = 3_600_000;

/// One whole lister cycle, for the operator's "last cycle" view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FleetCycle {
    pub at_ms: i64,
    pub duration_ms: i64,
    pub instances: u64,
    pub skipped: u64,
    pub failed: u64,
    pub enqueued: u64,
    pub lost: u64,
    /// Instances in scope the cycle had no time to list.
    pub not_reached: u64,
    /// How long ago the least recently listed of those was listed.
    pub oldest_listing_age_ms: Option<i64>,
    /// Where the next cycle starts: after this instance (`region/id` with
    /// several regions), when this cycle did not reach every instance.
    pub resume_after: Option<String>,
}

/// What the lister keeps about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListerRecords {
    pub instances: Vec<InstanceCycle>,
    pub fleet: Option<FleetCycle>,
}

/// How long the entry of a file RDS no longer lists is kept before
/// DynamoDB's TTL removes it, so lost files stay visible to operators.
pub const GONE_ENTRY_TTL_SECS: i64 = 30 * 24 * 3600;

/// The result of recording a shipped version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateUpdate {
    /// The state now points at the new version.
    Advanced,
    /// The state already held this version or a newer one; nothing changed.
    Superseded,
}

/// A failure to record against a file version.
#[derive(Debug, Clone)]
pub struct FailureNote<'a> {
    pub error: &'a str,
    pub reason: &'a str,
    pub permanent: bool,
}

/// One file's state, the record every handler reads and writes: the
/// worker (get, record shipped or failed), the lister (an instance's files,
/// enqueued, lost, gone), backfill and the dead-letter commands.
pub trait FileStates: Send + Sync {
    /// Every file of one instance, in one query; may be a second stale.
    fn files_of(&self, instance: &str) -> impl Future<Output = Result<Vec<FileState>>> + Send;

    fn get(
        &self,
        instance: &str,
        file: &str,
    ) -> impl Future<Output = Result<Option<FileState>>> + Send;

    /// Remembers that this version was handed to the queue at `at_ms`.
    fn record_enqueued(
        &self,
        version: &LogFileVersion,
        at_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Moves the file's shipped version forward, never backwards, and clears
    /// its failure record.
    fn record_shipped(
        &self,
        instance: &str,
        file: &str,
        shipped: &ShippedRecord,
    ) -> impl Future<Output = Result<StateUpdate>> + Send;

    /// Counts one failed attempt of `version`, keeping when it first failed.
    fn record_failure(
        &self,
        version: &LogFileVersion,
        note: &FailureNote<'_>,
        at_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Records that RDS deleted `lost.version` before it shipped.
    fn record_lost(
        &self,
        instance: &str,
        file: &str,
        lost: &LostRecord,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Records that RDS no longer lists the file; the entry expires
    /// `GONE_ENTRY_TTL_SECS` later. Enqueuing the file again clears it.
    fn record_gone(
        &self,
        instance: &str,
        file: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The lister's records of itself: written by the lister, read by it and
/// by `rdslogs status`.
pub trait CycleRecords: Send + Sync {
    /// The lister's records: its last record of every instance it has
    /// seen, and of its last whole cycle (one query).
    fn lister_records(&self) -> impl Future<Output = Result<ListerRecords>> + Send;

    /// The lister's last record of every instance it has seen.
    fn instance_cycles(&self) -> impl Future<Output = Result<Vec<InstanceCycle>>> + Send {
        async { Ok(self.lister_records().await?.instances) }
    }

    fn record_instance_cycle(
        &self,
        cycle: &InstanceCycle,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The last whole lister cycle, if any ran.
    fn fleet_cycle(&self) -> impl Future<Output = Result<Option<FleetCycle>>> + Send {
        async { Ok(self.lister_records().await?.fleet) }
    }

    fn record_fleet_cycle(&self, cycle: &FleetCycle) -> impl Future<Output = Result<()>> + Send;
}

/// The operator's whole-table read (`rdslogs status` of the fleet).
pub trait StateScan: Send + Sync {
    /// Every file of every instance (a full table scan: operator use only).
    fn all_files(&self) -> impl Future<Output = Result<Vec<FileState>>> + Send;
}

/// What the lister needs of the state table.
pub trait ListerState: FileStates + CycleRecords {}

impl<T: FileStates + CycleRecords> ListerState for T {}
