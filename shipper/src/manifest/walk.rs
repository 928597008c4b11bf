//! Reads an instance's chain from S3 and checks it (`rdslogs verify
//! --manifests`): every manifest under its prefix, in date order, and S3's
//! HEAD of every object they list.

use std::collections::{BTreeSet, HashMap};

use futures_util::{StreamExt, stream};
use serde::Serialize;

use super::{ChainProblem, Manifest, ManifestStore, check_chain, manifest_prefix};
use crate::error::Result;

const HEADS_AT_ONCE: usize = 16;

/// What walking one instance's chain found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChainWalk {
    pub instance: String,
    pub manifests: usize,
    /// Objects the manifests list, each key once.
    pub objects: usize,
    pub problems: Vec<ChainProblem>,
}

/// Walks `instance`'s chain under `prefix`; `head` is the (date, SHA-256)
/// the state table recorded last.
pub async fn walk_chain<A: ManifestStore>(
    archive: &A,
    prefix: &str,
    instance: &str,
    head: Option<(&str, &str)>,
) -> Result<ChainWalk> {
    let keys = archive.list(&manifest_prefix(prefix, instance)).await?;
    let mut stored = Vec::new();
    for key in keys.into_iter().filter(|k| k.ends_with(".json")) {
        // Listed a moment ago; gone now reads as a deleted manifest.
        if let Some(bytes) = archive.get(&key).await? {
            stored.push((key, bytes));
        }
    }
    let listed: BTreeSet<String> = stored
        .iter()
        .filter_map(|(_, bytes)| serde_json::from_slice::<Manifest>(bytes).ok())
        .flat_map(|m| m.objects.into_iter().map(|o| o.key))
        .collect();
    let objects: HashMap<_, _> = stream::iter(listed)
        .map(|key| async move { archive.head(&key).await.map(|o| (key, o)) })
        .buffer_unordered(HEADS_AT_ONCE)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let (manifests, problems) = check_chain(instance, &stored, head, &objects);
    Ok(ChainWalk {
        instance: instance.to_owned(),
        manifests: manifests.len(),
        objects: objects.len(),
        problems,
    })
}
