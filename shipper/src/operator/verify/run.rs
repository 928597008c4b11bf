//! Gathers the three views for `reconcile`: RDS's listing, the state
//! table's entries and S3's answers (HEAD with checksum mode; with
//! `--deep`, every object read back; for a damaged object, its versions).

use std::collections::HashMap;

use futures_util::{StreamExt, stream};
use serde::Serialize;

use super::{Finding, InstanceViews, Objects, ReadBack, Verdict, reconcile, recorded_keys};
use crate::error::{Result, causes};
use crate::operator::backfill::Window;
use crate::rds::LogCatalog;
use crate::sink::ExistingObject;
use crate::state::FileStates;

/// S3 calls at once: HEADs are small; reads back stream whole objects.
const HEADS_AT_ONCE: usize = 16;
const READS_AT_ONCE: usize = 4;

/// What verify reads of the archive.
pub trait ArchiveObjects: Send + Sync {
    /// The object at `key` with its stored CRC32C, if any.
    fn head(&self, key: &str) -> impl Future<Output = Result<Option<ExistingObject>>> + Send;

    /// Reads the object back: the CRC32C of its bytes, and of the log
    /// file's bytes once decompressed per its `Content-Encoding`.
    fn read_back(
        &self,
        key: &str,
        content_encoding: Option<&str>,
    ) -> impl Future<Output = Result<Option<ReadBack>>> + Send;

    /// Every version S3 keeps of `key`, newest first (one, `null`, on a
    /// bucket without versioning).
    fn versions(&self, key: &str) -> impl Future<Output = Result<Vec<KeptVersion>>> + Send;
}

/// One version of an object, as S3 keeps it under versioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptVersion {
    pub version_id: String,
    pub bytes: u64,
    pub crc32c: Option<String>,
    /// A delete marker: the key reads as absent while it is the latest.
    pub delete_marker: bool,
}

/// What to verify.
pub struct VerifyRequest {
    pub instances: Vec<String>,
    pub window: Option<Window>,
    /// Read every object back and recompute its checksums.
    pub deep: bool,
}

/// Every finding, and the instances RDS could not list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub findings: Vec<Finding>,
    /// (instance, why): their pending versions are those the state knows.
    pub not_listed: Vec<(String, String)>,
}

impl VerifyReport {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.findings
            .iter()
            .filter(|f| f.verdict == verdict)
            .count()
    }

    pub fn damaged(&self) -> bool {
        self.findings.iter().any(|f| f.verdict.is_damage())
    }
}

/// Reconciles each instance of `request`; `progress` gets (done, total).
pub async fn verify<C, S, A>(
    catalog: &C,
    state: &S,
    archive: &A,
    request: &VerifyRequest,
    mut progress: impl FnMut(usize, usize),
) -> Result<VerifyReport>
where
    C: LogCatalog,
    S: FileStates,
    A: ArchiveObjects,
{
    let mut report = VerifyReport::default();
    for (done, instance) in request.instances.iter().enumerate() {
        let files = state.files_of(instance).await?;
        let listed = match catalog
            .log_files(instance, request.window.map(|w| w.since_ms))
            .await
        {
            Ok(listed) => Some(listed),
            Err(e) => {
                report.not_listed.push((instance.clone(), causes(&e)));
                None
            }
        };
        let keys = recorded_keys(&files);
        let objects: Objects = stream::iter(keys)
            .map(|key| async move {
                let head = archive.head(&key).await;
                head.map(|object| (key, object))
            })
            .buffer_unordered(HEADS_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let read_backs = if request.deep {
            read_all_back(archive, &objects).await?
        } else {
            HashMap::new()
        };
        let views = InstanceViews {
            instance,
            listed: listed.as_deref(),
            files: &files,
        };
        let mut findings = reconcile(&views, &objects, &read_backs, request.window);
        for finding in findings.iter_mut().filter(|f| f.verdict.is_damage()) {
            note_kept_versions(archive, &files, finding).await?;
        }
        report.findings.extend(findings);
        progress(done + 1, request.instances.len());
    }
    Ok(report)
}

async fn read_all_back<A: ArchiveObjects>(
    archive: &A,
    objects: &Objects,
) -> Result<HashMap<String, ReadBack>> {
    let present = objects
        .iter()
        .filter_map(|(key, object)| Some((key.clone(), object.clone()?)));
    let reads: Vec<Result<Option<(String, ReadBack)>>> = stream::iter(present)
        .map(|(key, object)| async move {
            let read = archive
                .read_back(&key, object.content_encoding.as_deref())
                .await?;
            Ok(read.map(|read| (key, read)))
        })
        .buffer_unordered(READS_AT_ONCE)
        .collect()
        .await;
    let mut out = HashMap::new();
    for read in reads {
        if let Some((key, read)) = read? {
            out.insert(key, read);
        }
    }
    Ok(out)
}

/// Under versioning a deleted or overwritten object may still be kept:
/// says which version holds the recorded bytes, so it can be restored.
async fn note_kept_versions<A: ArchiveObjects>(
    archive: &A,
    files: &[crate::version::FileState],
    finding: &mut Finding,
) -> Result<()> {
    let Some(key) = &finding.key else {
        return Ok(());
    };
    let recorded = files
        .iter()
        .filter_map(|f| f.shipped.as_ref())
        .find(|s| &s.key == key)
        .map(|s| s.crc32c.clone());
    let versions = archive.versions(key).await?;
    let kept = versions
        .iter()
        .filter(|v| !v.delete_marker)
        .find(|v| recorded.is_some() && v.crc32c == recorded);
    if let Some(kept) = kept {
        finding.detail.push_str(&format!(
            "; version {} holds the recorded bytes (restore it by copying it over the key)",
            kept.version_id
        ));
    } else if versions.len() > 1 {
        finding.detail.push_str(&format!(
            "; {} versions kept, none with the recorded CRC32C",
            versions.len()
        ));
    }
    Ok(())
}
