//! The state table in DynamoDB: partition key `instance`, sort key `file`, so
//! one `Query` returns an instance's files. Shipping is a conditional update
//! that never moves a file back to an older version.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{FailureNote, StateStore, StateUpdate};
use crate::error::{AwsError, Error, Result};
use crate::version::{FailureRecord, FileState, FileVersion, LogFileVersion, ShippedRecord};

pub const PARTITION_KEY: &str = "instance";
pub const SORT_KEY: &str = "file";

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStateTable {
    client: Client,
    table: String,
}

impl DynamoStateTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn error(&self, op: &'static str, source: AwsError) -> Error {
        Error::State {
            table: self.table.clone(),
            op,
            source,
        }
    }

    fn key(instance: &str, file: &str) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_owned(), s(instance)),
            (SORT_KEY.to_owned(), s(file)),
        ])
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn get_version(item: &Item, size: &str, last_written: &str) -> Option<FileVersion> {
    Some(FileVersion::new(
        get_n(item, size)? as u64,
        get_n(item, last_written)?,
    ))
}

/// Reads an item back into the domain type; unknown or missing attributes
/// simply leave that part empty.
fn file_state(item: &Item) -> FileState {
    let shipped =
        get_version(item, "shipped_size", "shipped_last_written").map(|version| ShippedRecord {
            version,
            at_ms: get_n(item, "shipped_at").unwrap_or(0),
            key: get_s(item, "shipped_key").unwrap_or_default(),
            crc32c: get_s(item, "shipped_crc32c").unwrap_or_default(),
        });
    let enqueued = get_version(item, "enqueued_size", "enqueued_last_written")
        .map(|v| (v, get_n(item, "enqueued_at").unwrap_or(0)));
    let failure = get_n(item, "attempts").map(|attempts| FailureRecord {
        version: get_version(item, "failed_size", "failed_last_written")
            .unwrap_or(FileVersion::new(0, 0)),
        attempts: attempts as u64,
        last_error: get_s(item, "last_error").unwrap_or_default(),
        reason: get_s(item, "failure_reason").unwrap_or_default(),
        permanent: item
            .get("failure_permanent")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        first_failed_ms: get_n(item, "first_failed_at").unwrap_or(0),
        last_failed_ms: get_n(item, "last_failed_at").unwrap_or(0),
    });
    FileState {
        instance: get_s(item, PARTITION_KEY).unwrap_or_default(),
        file: get_s(item, SORT_KEY).unwrap_or_default(),
        shipped,
        enqueued,
        failure,
    }
}

impl StateStore for DynamoStateTable {
    async fn files_of(&self, instance: &str) -> Result<Vec<FileState>> {
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", s(instance))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(item) = items.next().await {
            let item = item.map_err(|e| self.error("Query", AwsError::from_sdk(e)))?;
            out.push(file_state(&item));
        }
        Ok(out)
    }

    async fn get(&self, instance: &str, file: &str) -> Result<Option<FileState>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(instance, file)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", AwsError::from_sdk(e)))?;
        Ok(out.item().map(file_state))
    }

    async fn record_enqueued(&self, v: &LogFileVersion, at_ms: i64) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&v.instance, &v.file)))
            .update_expression(
                "SET enqueued_size = :size, enqueued_last_written = :lw, enqueued_at = :at",
            )
            .expression_attribute_values(":size", n(v.version.size))
            .expression_attribute_values(":lw", n(v.version.last_written_ms))
            .expression_attribute_values(":at", n(at_ms))
            .send()
            .await
            .map_err(|e| self.error("UpdateItem", AwsError::from_sdk(e)))?;
        Ok(())
    }

    async fn record_shipped(
        &self,
        instance: &str,
        file: &str,
        shipped: &ShippedRecord,
    ) -> Result<StateUpdate> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(instance, file)))
            .update_expression(
                "SET shipped_size = :size, shipped_last_written = :lw, shipped_at = :at, \
                 shipped_key = :key, shipped_crc32c = :crc \
                 REMOVE attempts, last_error, failure_reason, failure_permanent, \
                 first_failed_at, last_failed_at, failed_size, failed_last_written",
            )
            // Only forward: a later last-written time, or the same time and more bytes.
            .condition_expression(
                "attribute_not_exists(shipped_last_written) OR shipped_last_written < :lw \
                 OR (shipped_last_written = :lw AND shipped_size < :size)",
            )
            .expression_attribute_values(":size", n(shipped.version.size))
            .expression_attribute_values(":lw", n(shipped.version.last_written_ms))
            .expression_attribute_values(":at", n(shipped.at_ms))
            .expression_attribute_values(":key", s(&shipped.key))
            .expression_attribute_values(":crc", s(&shipped.crc32c))
            .send()
            .await;
        match result {
            Ok(_) => Ok(StateUpdate::Advanced),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(StateUpdate::Superseded)
            }
            Err(e) => Err(self.error("UpdateItem", AwsError::from_sdk(e))),
        }
    }

    async fn record_failure(
        &self,
        v: &LogFileVersion,
        note: &FailureNote<'_>,
        at_ms: i64,
    ) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&v.instance, &v.file)))
            .update_expression(
                "SET last_error = :err, failure_reason = :reason, failure_permanent = :perm, \
                 last_failed_at = :now, first_failed_at = if_not_exists(first_failed_at, :now), \
                 failed_size = :size, failed_last_written = :lw ADD attempts :one",
            )
            .expression_attribute_values(":err", s(note.error))
            .expression_attribute_values(":reason", s(note.reason))
            .expression_attribute_values(":perm", AttributeValue::Bool(note.permanent))
            .expression_attribute_values(":now", n(at_ms))
            .expression_attribute_values(":size", n(v.version.size))
            .expression_attribute_values(":lw", n(v.version.last_written_ms))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| self.error("UpdateItem", AwsError::from_sdk(e)))?;
        Ok(())
    }
}
