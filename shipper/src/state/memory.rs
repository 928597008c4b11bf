//! An in-memory state table with the same rules as the DynamoDB one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    CycleRecords, FailureNote, FileStates, FleetCycle, InstanceCycle, ListerRecords, StateScan,
    StateUpdate,
};
use crate::error::Result;
use crate::version::{FailureRecord, FileState, LogFileVersion, LostRecord, ShippedRecord};

#[derive(Debug, Default)]
pub struct MemoryStateTable {
    files: Mutex<BTreeMap<(String, String), FileState>>,
    cycles: Mutex<BTreeMap<String, InstanceCycle>>,
    fleet: Mutex<Option<FleetCycle>>,
}

impl MemoryStateTable {
    fn with_entry<T>(&self, instance: &str, file: &str, f: impl FnOnce(&mut FileState) -> T) -> T {
        let mut files = self.files.lock().expect("state lock");
        let entry = files
            .entry((instance.to_owned(), file.to_owned()))
            .or_insert_with(|| FileState {
                instance: instance.to_owned(),
                file: file.to_owned(),
                ..FileState::default()
            });
        f(entry)
    }
}

impl FileStates for MemoryStateTable {
    async fn files_of(&self, instance: &str) -> Result<Vec<FileState>> {
        let files = self.files.lock().expect("state lock");
        Ok(files
            .iter()
            .filter(|((i, _), _)| i == instance)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn get(&self, instance: &str, file: &str) -> Result<Option<FileState>> {
        let files = self.files.lock().expect("state lock");
        Ok(files.get(&(instance.to_owned(), file.to_owned())).cloned())
    }

    async fn record_enqueued(&self, v: &LogFileVersion, at_ms: i64) -> Result<()> {
        self.with_entry(&v.instance, &v.file, |e| {
            e.enqueued = Some((v.version, at_ms));
            e.gone_ms = None;
            if v.incarnation.is_some() {
                e.incarnation = v.incarnation.clone();
            }
        });
        Ok(())
    }

    async fn record_shipped(
        &self,
        instance: &str,
        file: &str,
        shipped: &ShippedRecord,
    ) -> Result<StateUpdate> {
        Ok(self.with_entry(instance, file, |e| {
            if e.shipped
                .as_ref()
                .is_some_and(|s| !s.is_replaced_by(shipped))
            {
                return StateUpdate::Superseded;
            }
            if let Err(at) = e.keys.binary_search(&shipped.key) {
                e.keys.insert(at, shipped.key.clone());
            }
            if shipped.incarnation.is_some() {
                e.incarnation = shipped.incarnation.clone();
            }
            e.shipped = Some(shipped.clone());
            e.failure = None;
            StateUpdate::Advanced
        }))
    }

    async fn record_failure(
        &self,
        v: &LogFileVersion,
        note: &FailureNote<'_>,
        at_ms: i64,
    ) -> Result<()> {
        self.with_entry(&v.instance, &v.file, |e| {
            let (attempts, first) = e
                .failure
                .as_ref()
                .map(|f| (f.attempts, f.first_failed_ms))
                .unwrap_or((0, at_ms));
            e.failure = Some(FailureRecord {
                version: v.version,
                attempts: attempts + 1,
                last_error: note.error.to_owned(),
                reason: note.reason.to_owned(),
                permanent: note.permanent,
                first_failed_ms: first,
                last_failed_ms: at_ms,
            });
        });
        Ok(())
    }

    async fn record_lost(&self, instance: &str, file: &str, lost: &LostRecord) -> Result<()> {
        self.with_entry(instance, file, |e| e.lost = Some(lost.clone()));
        Ok(())
    }

    async fn record_gone(&self, instance: &str, file: &str, at_ms: i64) -> Result<()> {
        self.with_entry(instance, file, |e| e.gone_ms = Some(at_ms));
        Ok(())
    }
}

impl CycleRecords for MemoryStateTable {
    async fn lister_records(&self) -> Result<ListerRecords> {
        Ok(ListerRecords {
            instances: self
                .cycles
                .lock()
                .expect("state lock")
                .values()
                .cloned()
                .collect(),
            fleet: self.fleet.lock().expect("state lock").clone(),
        })
    }

    async fn record_instance_cycle(&self, cycle: &InstanceCycle) -> Result<()> {
        self.cycles
            .lock()
            .expect("state lock")
            .insert(cycle.instance.clone(), cycle.clone());
        Ok(())
    }

    async fn record_fleet_cycle(&self, cycle: &FleetCycle) -> Result<()> {
        *self.fleet.lock().expect("state lock") = Some(cycle.clone());
        Ok(())
    }
}

impl StateScan for MemoryStateTable {
    async fn all_files(&self) -> Result<Vec<FileState>> {
        Ok(self
            .files
            .lock()
            .expect("state lock")
            .values()
            .cloned()
            .collect())
    }
}
