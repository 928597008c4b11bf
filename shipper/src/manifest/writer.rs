//! Writes each instance's due manifests after a lister cycle: HEADs the
//! instance's objects once, builds each closed day's manifest, writes it
//! only if none is at its key (a manifest is written once: a second writer
//! adopts the first one's), and records the chain's new head.

use std::collections::HashMap;

use futures_util::{StreamExt, stream};
use serde::Serialize;
use tokio::time::Instant;

use super::{ChainLink, HeldObject, build, day_of, due_days, manifest_key, sha256_hex};
use crate::error::{Result, causes};
use crate::sink::ExistingObject;
use crate::state::{CycleRecords, FileStates, InstanceCycle};
use crate::version::FileState;

const HEADS_AT_ONCE: usize = 16;

/// What reading manifests needs of the archive (`verify --manifests`).
pub trait ManifestStore: Send + Sync {
    /// The object at `key` with its stored CRC32C, if any.
    fn head(&self, key: &str) -> impl Future<Output = Result<Option<ExistingObject>>> + Send;

    /// The object's bytes, if any.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;

    /// Every key under `prefix`, in key order.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// What writing them needs besides (the lister).
pub trait ManifestArchive: ManifestStore {
    /// Writes `bytes` at `key` if no object is there (`If-None-Match: *`);
    /// `false` when one was.
    fn put_new(&self, key: &str, bytes: Vec<u8>) -> impl Future<Output = Result<bool>> + Send;
}

/// The manifests of a deployment: its archive and key prefix.
pub struct DailyManifests<A> {
    pub archive: A,
    pub prefix: String,
}

/// What one run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ManifestReport {
    /// Keys of the manifests written.
    pub written: Vec<String>,
    /// Keys found already written (by an earlier run), taken as they are.
    pub adopted: Vec<String>,
    /// (instance, why) for instances whose manifests wait for a next run.
    pub errors: Vec<(String, String)>,
}

impl<A: ManifestArchive> DailyManifests<A> {
    /// Writes the due manifests of `instances`, stopping at `deadline`.
    pub async fn write_due<S: FileStates + CycleRecords>(
        &self,
        state: &S,
        instances: &[String],
        now_ms: i64,
        deadline: Option<Instant>,
    ) -> ManifestReport {
        let mut report = ManifestReport::default();
        let records: HashMap<String, InstanceCycle> = match state.instance_cycles().await {
            Ok(records) => records
                .into_iter()
                .map(|r| (r.instance.clone(), r))
                .collect(),
            Err(e) => {
                report.errors.push(("*".to_owned(), causes(&e)));
                return report;
            }
        };
        for instance in instances {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            // The lister has just recorded every instance it listed.
            let Some(record) = records.get(instance) else {
                continue;
            };
            if let Err(e) = self
                .write_instance(state, record.clone(), now_ms, &mut report)
                .await
            {
                tracing::warn!(instance, error = %e, "daily manifests wait for the next cycle");
                report.errors.push((instance.clone(), causes(&e)));
            }
        }
        report
    }

    async fn write_instance<S: FileStates + CycleRecords>(
        &self,
        state: &S,
        mut record: InstanceCycle,
        now_ms: i64,
        report: &mut ManifestReport,
    ) -> Result<()> {
        let instance = record.instance.clone();
        let head = record
            .manifest
            .as_ref()
            .and_then(|(date, _)| date.parse::<jiff::civil::Date>().ok());
        // Most cycles: yesterday's manifest is written, nothing to do.
        let yesterday = day_of(now_ms - super::DAY_MS - super::GRACE_MS);
        if head.is_some_and(|h| h >= yesterday) {
            return Ok(());
        }
        let files = state.files_of(&instance).await?;
        let objects = self.held_objects(&files).await?;
        let days = due_days(head, &objects, &files, now_ms);
        let mut link = record
            .manifest
            .as_ref()
            .zip(head)
            .map(|((date, sha), day)| ChainLink {
                date: date.clone(),
                key: manifest_key(&self.prefix, &instance, day),
                sha256: sha.clone(),
            });
        for day in days {
            let manifest = build(&instance, day, link.clone(), &objects, &files);
            let key = manifest_key(&self.prefix, &instance, day);
            let bytes = manifest.to_bytes();
            let sha256 = if self.archive.put_new(&key, bytes.clone()).await? {
                report.written.push(key.clone());
                sha256_hex(&bytes)
            } else {
                // Written by an earlier run that stopped before recording it.
                let existing = self.archive.get(&key).await?.unwrap_or_default();
                report.adopted.push(key.clone());
                sha256_hex(&existing)
            };
            record.manifest = Some((day.to_string(), sha256.clone()));
            state.record_instance_cycle(&record).await?;
            link = Some(ChainLink {
                date: day.to_string(),
                key,
                sha256,
            });
        }
        Ok(())
    }

    /// Every object the state says the instance's files shipped to, as S3
    /// holds it now.
    async fn held_objects(&self, files: &[FileState]) -> Result<Vec<HeldObject>> {
        let keys: Vec<(String, String)> = files
            .iter()
            .flat_map(|f| {
                f.keys
                    .iter()
                    .chain(f.shipped.as_ref().map(|s| &s.key))
                    .map(|k| (k.clone(), f.file.clone()))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let heads: Vec<Result<Option<HeldObject>>> = stream::iter(keys)
            .map(|(key, file)| async move {
                let object = self.archive.head(&key).await?;
                Ok(object.map(|object| HeldObject { key, file, object }))
            })
            .buffer_unordered(HEADS_AT_ONCE)
            .collect()
            .await;
        heads.into_iter().filter_map(Result::transpose).collect()
    }
}
