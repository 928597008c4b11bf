//! Snapshot calls through aws-sdk-rds: find an instance's cluster, create
//! and describe instance or cluster snapshots, tags included.

use aws_sdk_rds::Client;
use aws_sdk_rds::types::Tag;

use super::{SnapshotInfo, SnapshotService, Source};
use crate::error::{AwsError, Error, Result};

#[derive(Debug, Clone)]
pub struct RdsSnapshots {
    client: Client,
}

impl RdsSnapshots {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn failed(target: &str, op: &'static str, source: AwsError) -> Error {
    Error::Snapshot {
        target: target.to_owned(),
        op,
        source,
    }
}

fn missing(target: &str, op: &'static str) -> Error {
    failed(
        target,
        op,
        AwsError::other("RDS answered without the snapshot"),
    )
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or("").to_owned())))
        .collect()
}

fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn from_instance_snapshot(s: &aws_sdk_rds::types::DbSnapshot, source: &Source) -> SnapshotInfo {
    SnapshotInfo {
        id: s.db_snapshot_identifier().unwrap_or_default().to_owned(),
        source: source.clone(),
        status: s.status().unwrap_or_default().to_owned(),
        created_ms: s.snapshot_create_time().and_then(|t| t.to_millis().ok()),
        arn: s.db_snapshot_arn().map(str::to_owned),
        tags: tag_pairs(s.tag_list()),
    }
}

fn from_cluster_snapshot(
    s: &aws_sdk_rds::types::DbClusterSnapshot,
    source: &Source,
) -> SnapshotInfo {
    SnapshotInfo {
        id: s
            .db_cluster_snapshot_identifier()
            .unwrap_or_default()
            .to_owned(),
        source: source.clone(),
        status: s.status().unwrap_or_default().to_owned(),
        created_ms: s.snapshot_create_time().and_then(|t| t.to_millis().ok()),
        arn: s.db_cluster_snapshot_arn().map(str::to_owned),
        tags: tag_pairs(s.tag_list()),
    }
}

impl SnapshotService for RdsSnapshots {
    async fn source_of(&self, instance: &str) -> Result<Source> {
        const OP: &str = "DescribeDBInstances";
        let out = self
            .client
            .describe_db_instances()
            .db_instance_identifier(instance)
            .send()
            .await
            .map_err(|e| failed(instance, OP, AwsError::from_sdk(e)))?;
        let described = out
            .db_instances()
            .iter()
            .find(|i| i.db_instance_identifier() == Some(instance))
            .ok_or_else(|| missing(instance, OP))?;
        Ok(match described.db_cluster_identifier() {
            Some(cluster) => Source::Cluster(cluster.to_owned()),
            None => Source::Instance(instance.to_owned()),
        })
    }

    async fn create(
        &self,
        source: &Source,
        id: &str,
        tags: &[(String, String)],
    ) -> Result<SnapshotInfo> {
        match source {
            Source::Instance(instance) => {
                const OP: &str = "CreateDBSnapshot";
                let out = self
                    .client
                    .create_db_snapshot()
                    .db_instance_identifier(instance)
                    .db_snapshot_identifier(id)
                    .set_tags(Some(sdk_tags(tags)))
                    .send()
                    .await
                    .map_err(|e| failed(instance, OP, AwsError::from_sdk(e)))?;
                let snapshot = out.db_snapshot().ok_or_else(|| missing(instance, OP))?;
                Ok(from_instance_snapshot(snapshot, source))
            }
            Source::Cluster(cluster) => {
                const OP: &str = "CreateDBClusterSnapshot";
                let out = self
                    .client
                    .create_db_cluster_snapshot()
                    .db_cluster_identifier(cluster)
                    .db_cluster_snapshot_identifier(id)
                    .set_tags(Some(sdk_tags(tags)))
                    .send()
                    .await
                    .map_err(|e| failed(cluster, OP, AwsError::from_sdk(e)))?;
                let snapshot = out
                    .db_cluster_snapshot()
                    .ok_or_else(|| missing(cluster, OP))?;
                Ok(from_cluster_snapshot(snapshot, source))
            }
        }
    }

    async fn describe(&self, source: &Source, id: &str) -> Result<SnapshotInfo> {
        match source {
            Source::Instance(_) => {
                const OP: &str = "DescribeDBSnapshots";
                let out = self
                    .client
                    .describe_db_snapshots()
                    .db_snapshot_identifier(id)
                    .send()
                    .await
                    .map_err(|e| failed(id, OP, AwsError::from_sdk(e)))?;
                let snapshot = out
                    .db_snapshots()
                    .iter()
                    .find(|s| s.db_snapshot_identifier() == Some(id))
                    .ok_or_else(|| missing(id, OP))?;
                Ok(from_instance_snapshot(snapshot, source))
            }
            Source::Cluster(_) => {
                const OP: &str = "DescribeDBClusterSnapshots";
                let out = self
                    .client
                    .describe_db_cluster_snapshots()
                    .db_cluster_snapshot_identifier(id)
                    .send()
                    .await
                    .map_err(|e| failed(id, OP, AwsError::from_sdk(e)))?;
                let snapshot = out
                    .db_cluster_snapshots()
                    .iter()
                    .find(|s| s.db_cluster_snapshot_identifier() == Some(id))
                    .ok_or_else(|| missing(id, OP))?;
                Ok(from_cluster_snapshot(snapshot, source))
            }
        }
    }
}
