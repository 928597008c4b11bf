//! In-memory state table and queue that count their calls under the
//! DynamoDB and SQS operation each one is in the real adapters, so a large
//! fleet can be measured without moto's per-request cost (moto serves a few
//! hundred requests a second; a first cycle over 100,000 files needs
//! 100,000 writes). `--backend moto` checks the mapping with real SDK calls.
//! An optional latency per call stands in for the round trip to AWS.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shipper::Result;
use shipper::queue::{EntryFailure, MemoryQueue, WorkQueue};
use shipper::state::{
    CycleRecords, FailureNote, FileStates, FleetCycle, InstanceCycle, ListerRecords,
    MemoryStateTable, StateUpdate,
};
use shipper::version::{FileState, LogFileVersion, LostRecord, ShippedRecord};

#[derive(Debug, Clone, Default)]
pub struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counts {
    fn add(&self, operation: &str) {
        *self
            .0
            .lock()
            .expect("counts lock")
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().expect("counts lock"))
    }
}

/// Counts one call and waits out `latency` (on tokio's clock).
async fn call(counts: &Counts, latency: Duration, operation: &str) {
    counts.add(operation);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// `MemoryStateTable`, counting what `DynamoStateTable` would send.
#[derive(Debug, Default)]
pub struct CountingState {
    pub inner: MemoryStateTable,
    pub counts: Counts,
    /// Added to every call (none by default).
    pub latency: Duration,
}

impl CountingState {
    async fn call(&self, operation: &str) {
        call(&self.counts, self.latency, operation).await;
    }
}

impl FileStates for CountingState {
    async fn files_of(&self, instance: &str) -> Result<Vec<FileState>> {
        self.call("Query").await;
        self.inner.files_of(instance).await
    }

    async fn get(&self, instance: &str, file: &str) -> Result<Option<FileState>> {
        self.call("GetItem").await;
        self.inner.get(instance, file).await
    }

    async fn record_enqueued(&self, version: &LogFileVersion, at_ms: i64) -> Result<()> {
        self.call("UpdateItem").await;
        self.inner.record_enqueued(version, at_ms).await
    }

    async fn record_shipped(
        &self,
        instance: &str,
        file: &str,
        shipped: &ShippedRecord,
    ) -> Result<StateUpdate> {
        self.call("UpdateItem").await;
        self.inner.record_shipped(instance, file, shipped).await
    }

    async fn record_failure(
        &self,
        version: &LogFileVersion,
        note: &FailureNote<'_>,
        at_ms: i64,
    ) -> Result<()> {
        self.call("UpdateItem").await;
        self.inner.record_failure(version, note, at_ms).await
    }

    async fn record_lost(&self, instance: &str, file: &str, lost: &LostRecord) -> Result<()> {
        self.call("UpdateItem").await;
        self.inner.record_lost(instance, file, lost).await
    }

    async fn record_gone(&self, instance: &str, file: &str, at_ms: i64) -> Result<()> {
        self.call("UpdateItem").await;
        self.inner.record_gone(instance, file, at_ms).await
    }
}

impl CycleRecords for CountingState {
    async fn lister_records(&self) -> Result<ListerRecords> {
        self.call("Query").await;
        self.inner.lister_records().await
    }

    async fn record_instance_cycle(&self, cycle: &InstanceCycle) -> Result<()> {
        self.call("PutItem").await;
        self.inner.record_instance_cycle(cycle).await
    }

    async fn record_fleet_cycle(&self, cycle: &FleetCycle) -> Result<()> {
        self.call("PutItem").await;
        self.inner.record_fleet_cycle(cycle).await
    }
}

/// `MemoryQueue`, counting what `SqsQueue` would send.
#[derive(Debug, Default)]
pub struct CountingQueue {
    pub inner: MemoryQueue,
    pub counts: Counts,
    /// Added to every call (none by default).
    pub latency: Duration,
}

impl WorkQueue for CountingQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<EntryFailure>> {
        call(&self.counts, self.latency, "SendMessageBatch").await;
        self.inner.send_batch(bodies).await
    }
}
