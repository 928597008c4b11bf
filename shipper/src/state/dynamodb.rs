//! The state table in DynamoDB: partition key `instance`, sort key `file`, so
//! one `Query` returns an instance's files. Shipping is a conditional update
//! that never moves a file back to an older version.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    CycleRecords, FailureNote, FileStates, FleetCycle, GONE_ENTRY_TTL_SECS, InstanceCycle,
    ListerRecords, StateScan, StateUpdate,
};
use crate::error::{AwsCall, AwsError, Error, Result};
use crate::version::{FileState, LogFileVersion, LostRecord, ShippedRecord};

mod item;
use item::{Item, file_state, fleet_cycle, get_s, instance_cycle, n, put_opt, s};

pub const PARTITION_KEY: &str = "instance";
pub const SORT_KEY: &str = "file";
/// DynamoDB's TTL attribute (epoch seconds), set on files RDS no longer lists.
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Partition of the lister's own records; instance ids never start with '#'.
const LISTER_PARTITION: &str = "#lister";
const FLEET_SORT_KEY: &str = "#fleet";

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
        let action = format!("dynamodb:{op}");
        let resource = format!("table {}", self.table);
        Error::State {
            table: self.table.clone(),
            op,
            source: source.in_call(AwsCall {
                action: &action,
                resource: &resource,
            }),
        }
    }

    fn key(instance: &str, file: &str) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_owned(), s(instance)),
            (SORT_KEY.to_owned(), s(file)),
        ])
    }
}

impl DynamoStateTable {
    /// Every item of one partition, all pages. Eventually consistent reads
    /// cost half: the lister tolerates a view a second old (at worst it
    /// enqueues a version again, which the worker skips as shipped).
    async fn partition(&self, pk: &str) -> Result<Vec<Item>> {
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(false)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(item) = items.next().await {
            out.push(item.map_err(|e| self.error("Query", AwsError::from_sdk(e)))?);
        }
        Ok(out)
    }

    async fn put(&self, item: Item) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.error("PutItem", AwsError::from_sdk(e)))?;
        Ok(())
    }

    /// One unconditional `SET` update of a file's item.
    async fn set(
        &self,
        instance: &str,
        file: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<()> {
        let expression = values
            .iter()
            .map(|(name, _)| format!("{name} = :{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(instance, file)))
            .update_expression(format!("SET {expression}"))
            .set_expression_attribute_values(Some(
                values
                    .iter()
                    .map(|(name, value)| (format!(":{name}"), value.clone()))
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| self.error("UpdateItem", AwsError::from_sdk(e)))?;
        Ok(())
    }
}

/// An update's values, with `:rid` when the incarnation is known.
fn with_incarnation(mut values: Item, incarnation: Option<&str>) -> Option<Item> {
    if let Some(id) = incarnation {
        values.insert(":rid".to_owned(), s(id));
    }
    Some(values)
}

impl FileStates for DynamoStateTable {
    async fn files_of(&self, instance: &str) -> Result<Vec<FileState>> {
        Ok(self
            .partition(instance)
            .await?
            .iter()
            .map(file_state)
            .collect())
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
        let mut set =
            "SET enqueued_size = :size, enqueued_last_written = :lw, enqueued_at = :at".to_owned();
        if v.incarnation.is_some() {
            set.push_str(", resource_id = :rid");
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&v.instance, &v.file)))
            .update_expression(format!("{set} REMOVE gone_at, expires_at"))
            .set_expression_attribute_values(with_incarnation(
                HashMap::from([
                    (":size".to_owned(), n(v.version.size)),
                    (":lw".to_owned(), n(v.version.last_written_ms)),
                    (":at".to_owned(), n(at_ms)),
                ]),
                v.incarnation.as_deref(),
            ))
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
        // ShippedRecord::is_replaced_by, as a condition: later, more bytes
        // of the same version, other bytes under another key, or another
        // incarnation.
        let mut condition = "attribute_not_exists(shipped_last_written) \
             OR shipped_last_written < :lw \
             OR (shipped_last_written = :lw AND (shipped_size < :size OR shipped_key <> :key))"
            .to_owned();
        let mut set = "SET shipped_size = :size, shipped_listed_size = :listed, \
             shipped_last_written = :lw, shipped_at = :at, shipped_key = :key, \
             shipped_crc32c = :crc, shipped_raw_crc32c = :raw, shipped_stored_size = :stored"
            .to_owned();
        if shipped.incarnation.is_some() {
            // A record of unknown incarnation matches any (same_incarnation);
            // said explicitly, as `<>` on a missing attribute is true in moto.
            condition.push_str(
                " OR (attribute_exists(shipped_resource_id) AND shipped_resource_id <> :rid)",
            );
            set.push_str(", shipped_resource_id = :rid, resource_id = :rid");
        }
        let values = [
            (":size", n(shipped.version.size)),
            (":listed", n(shipped.listed_size)),
            (":lw", n(shipped.version.last_written_ms)),
            (":at", n(shipped.at_ms)),
            (":key", s(&shipped.key)),
            (":keys", AttributeValue::Ss(vec![shipped.key.clone()])),
            (":crc", s(&shipped.crc32c)),
            (":raw", s(&shipped.raw_crc32c)),
            (":stored", n(shipped.stored_bytes)),
        ];
        let values: Item = values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(instance, file)))
            .update_expression(format!(
                "{set} ADD shipped_keys :keys \
                 REMOVE attempts, last_error, failure_reason, failure_permanent, \
                 first_failed_at, last_failed_at, failed_size, failed_last_written"
            ))
            .condition_expression(condition)
            .set_expression_attribute_values(with_incarnation(
                values,
                shipped.incarnation.as_deref(),
            ))
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

    async fn record_lost(&self, instance: &str, file: &str, lost: &LostRecord) -> Result<()> {
        let mut values = vec![
            ("lost_size", n(lost.version.size)),
            ("lost_last_written", n(lost.version.last_written_ms)),
            ("lost_at", n(lost.detected_ms)),
        ];
        if let Some(id) = &lost.incarnation {
            values.push(("lost_resource_id", s(id)));
        }
        self.set(instance, file, &values).await
    }

    async fn record_gone(&self, instance: &str, file: &str, at_ms: i64) -> Result<()> {
        self.set(
            instance,
            file,
            &[
                ("gone_at", n(at_ms)),
                (TTL_ATTRIBUTE, n(at_ms / 1000 + GONE_ENTRY_TTL_SECS)),
            ],
        )
        .await
    }
}

impl CycleRecords for DynamoStateTable {
    async fn lister_records(&self) -> Result<ListerRecords> {
        let mut records = ListerRecords::default();
        for item in self.partition(LISTER_PARTITION).await? {
            match get_s(&item, SORT_KEY).as_deref() {
                Some(FLEET_SORT_KEY) => records.fleet = Some(fleet_cycle(&item)),
                Some(sk) if !sk.starts_with('#') => records.instances.push(instance_cycle(&item)),
                _ => {}
            }
        }
        Ok(records)
    }

    async fn record_instance_cycle(&self, cycle: &InstanceCycle) -> Result<()> {
        let mut item = Self::key(LISTER_PARTITION, &cycle.instance);
        item.insert("at".into(), n(cycle.at_ms));
        item.insert("listed".into(), n(cycle.listed));
        item.insert("enqueued".into(), n(cycle.enqueued));
        item.insert("lost".into(), n(cycle.lost));
        put_opt(&mut item, "listed_from", cycle.listed_from_ms.map(n));
        put_opt(&mut item, "full_listing_at", cycle.full_listing_ms.map(n));
        put_opt(&mut item, "skipped", cycle.skipped.as_deref().map(s));
        put_opt(&mut item, "error", cycle.error.as_deref().map(s));
        put_opt(
            &mut item,
            "resource_id",
            cycle.resource_id.as_deref().map(s),
        );
        if let Some((date, sha256)) = &cycle.manifest {
            item.insert("manifest_date".into(), s(date));
            item.insert("manifest_sha256".into(), s(sha256));
        }
        self.put(item).await
    }

    async fn record_fleet_cycle(&self, cycle: &FleetCycle) -> Result<()> {
        let mut item = Self::key(LISTER_PARTITION, FLEET_SORT_KEY);
        for (name, value) in [
            ("at", cycle.at_ms),
            ("duration_ms", cycle.duration_ms),
            ("instances", cycle.instances as i64),
            ("skipped", cycle.skipped as i64),
            ("failed", cycle.failed as i64),
            ("enqueued", cycle.enqueued as i64),
            ("lost", cycle.lost as i64),
            ("not_reached", cycle.not_reached as i64),
        ] {
            item.insert(name.to_owned(), n(value));
        }
        put_opt(
            &mut item,
            "oldest_listing_age_ms",
            cycle.oldest_listing_age_ms.map(n),
        );
        put_opt(
            &mut item,
            "resume_after",
            cycle.resume_after.as_deref().map(s),
        );
        self.put(item).await
    }
}

impl StateScan for DynamoStateTable {
    async fn all_files(&self) -> Result<Vec<FileState>> {
        let mut items = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#pk <> :lister")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":lister", s(LISTER_PARTITION))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(item) = items.next().await {
            out.push(file_state(
                &item.map_err(|e| self.error("Scan", AwsError::from_sdk(e)))?,
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
