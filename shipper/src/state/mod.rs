//! The state table: what was shipped, enqueued and failed, per file. One
//! trait, a DynamoDB adapter and an in-memory version for unit tests.

mod dynamodb;
/// Key attribute names of the DynamoDB state table.
pub mod dynamodb_keys {
    pub use super::dynamodb::{PARTITION_KEY, SORT_KEY};
}
mod memory;

use std::future::Future;

pub use dynamodb::DynamoStateTable;
pub use memory::MemoryStateTable;

use crate::error::Result;
use crate::version::{FileState, LogFileVersion, ShippedRecord};

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

pub trait StateStore: Send + Sync {
    /// Every file of one instance, in one query.
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
}
