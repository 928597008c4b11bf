//! State records as DynamoDB items: the attribute constructors the adapter
//! writes with, and each record read back from its attributes (an unknown
//! or missing attribute leaves that part empty).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::super::{FleetCycle, InstanceCycle};
use super::{PARTITION_KEY, SORT_KEY};
use crate::version::{FailureRecord, FileState, FileVersion, LostRecord, ShippedRecord};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(super) fn get_version(item: &Item, size: &str, last_written: &str) -> Option<FileVersion> {
    Some(FileVersion::new(
        get_n(item, size)? as u64,
        get_n(item, last_written)?,
    ))
}

/// Reads an item back into the domain type; unknown or missing attributes
/// simply leave that part empty.
pub(super) fn file_state(item: &Item) -> FileState {
    let shipped =
        get_version(item, "shipped_size", "shipped_last_written").map(|version| ShippedRecord {
            version,
            listed_size: get_n(item, "shipped_listed_size")
                .map_or(version.size, |n| n.max(0) as u64),
            at_ms: get_n(item, "shipped_at").unwrap_or(0),
            key: get_s(item, "shipped_key").unwrap_or_default(),
            stored_bytes: get_n(item, "shipped_stored_size")
                .map_or(version.size, |n| n.max(0) as u64),
            crc32c: get_s(item, "shipped_crc32c").unwrap_or_default(),
            raw_crc32c: get_s(item, "shipped_raw_crc32c").unwrap_or_default(),
            incarnation: get_s(item, "shipped_resource_id"),
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
    let lost = get_version(item, "lost_size", "lost_last_written").map(|version| LostRecord {
        version,
        detected_ms: get_n(item, "lost_at").unwrap_or(0),
        incarnation: get_s(item, "lost_resource_id"),
    });
    FileState {
        instance: get_s(item, PARTITION_KEY).unwrap_or_default(),
        file: get_s(item, SORT_KEY).unwrap_or_default(),
        shipped,
        enqueued,
        failure,
        lost,
        gone_ms: get_n(item, "gone_at"),
        incarnation: get_s(item, "resource_id"),
        keys: item
            .get("shipped_keys")
            .and_then(|v| v.as_ss().ok())
            .map(|keys| {
                let mut keys = keys.clone();
                keys.sort();
                keys
            })
            .unwrap_or_default(),
    }
}

pub(super) fn instance_cycle(item: &Item) -> InstanceCycle {
    let count = |name| get_n(item, name).unwrap_or(0) as u64;
    InstanceCycle {
        instance: get_s(item, SORT_KEY).unwrap_or_default(),
        at_ms: get_n(item, "at").unwrap_or(0),
        listed_from_ms: get_n(item, "listed_from"),
        full_listing_ms: get_n(item, "full_listing_at"),
        listed: count("listed"),
        enqueued: count("enqueued"),
        lost: count("lost"),
        skipped: get_s(item, "skipped"),
        error: get_s(item, "error"),
        resource_id: get_s(item, "resource_id"),
        manifest: get_s(item, "manifest_date").zip(get_s(item, "manifest_sha256")),
    }
}

pub(super) fn fleet_cycle(item: &Item) -> FleetCycle {
    let count = |name| get_n(item, name).unwrap_or(0) as u64;
    FleetCycle {
        at_ms: get_n(item, "at").unwrap_or(0),
        duration_ms: get_n(item, "duration_ms").unwrap_or(0),
        instances: count("instances"),
        skipped: count("skipped"),
        failed: count("failed"),
        enqueued: count("enqueued"),
        lost: count("lost"),
        not_reached: count("not_reached"),
        oldest_listing_age_ms: get_n(item, "oldest_listing_age_ms"),
        resume_after: get_s(item, "resume_after"),
    }
}

/// Adds `value` under `name` when present; DynamoDB has no null-free optional.
pub(super) fn put_opt(item: &mut Item, name: &str, value: Option<AttributeValue>) {
    if let Some(value) = value {
        item.insert(name.to_owned(), value);
    }
}
