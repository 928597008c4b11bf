//! Creating the bucket, state table, work queue and dead-letter queue when
//! they are missing: for local runs, tests and dev accounts (production
//! stacks come from the SAM/CDK templates).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::aws::AwsClients;
use crate::error::{AwsError, Error, Result};
use crate::state::dynamodb_keys::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

fn failed(resource: &str, source: AwsError) -> Error {
    Error::Provision {
        resource: resource.to_owned(),
        source,
    }
}

/// The queue name is the last path segment of its URL.
pub fn queue_name(url: &str) -> Result<&str> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .split_once('/')
        .and_then(|(_host, path)| path.trim_end_matches('/').rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::Config {
            name: "queue URL",
            reason: format!("{url:?} does not end in a queue name"),
        })
}

pub async fn ensure_bucket(clients: &AwsClients, bucket: &str) -> Result<()> {
    let mut create = clients.s3.create_bucket().bucket(bucket);
    let region = clients.s3.config().region().map(|r| r.to_string());
    if let Some(region) = region.filter(|r| r != "us-east-1") {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(failed(&format!("bucket {bucket}"), AwsError::from_sdk(e))),
    }
}

pub async fn ensure_state_table(clients: &AwsClients, table: &str) -> Result<()> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let resource = format!("state table {table}");
    let schema = [
        key(PARTITION_KEY, KeyType::Hash),
        key(SORT_KEY, KeyType::Range),
    ]
    .into_iter()
    .collect::<std::result::Result<Vec<_>, _>>()
    .and_then(|keys| Ok((keys, vec![attr(PARTITION_KEY)?, attr(SORT_KEY)?])));
    let (keys, attrs) = schema.map_err(|e| failed(&resource, AwsError::other(e.to_string())))?;
    let created = clients
        .dynamodb
        .create_table()
        .table_name(table)
        .set_key_schema(Some(keys))
        .set_attribute_definitions(Some(attrs))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(failed(&resource, AwsError::from_sdk(e))),
    }
    for _ in 0..120 {
        let described = clients
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| failed(&resource, AwsError::from_sdk(e)))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return enable_ttl(clients, table, &resource).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(failed(
        &resource,
        AwsError::other("did not become ACTIVE within 60 s"),
    ))
}

async fn create_queue(clients: &AwsClients, url: &str) -> Result<String> {
    let name = queue_name(url)?;
    let out = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .send()
        .await
        .map_err(|e| failed(&format!("queue {name}"), AwsError::from_sdk(e)))?;
    Ok(out.queue_url().unwrap_or(url).to_owned())
}

/// Creates the dead-letter queue and the work queue, and points the work
/// queue's redrive policy at the DLQ after `max_receive_count` receives.
pub async fn ensure_queues(
    clients: &AwsClients,
    queue_url: &str,
    dlq_url: &str,
    max_receive_count: u32,
) -> Result<()> {
    let dlq = create_queue(clients, dlq_url).await?;
    let arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed("dead-letter queue", AwsError::from_sdk(e)))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| failed("dead-letter queue", AwsError::other("no QueueArn")))?;
    let queue = create_queue(clients, queue_url).await?;
    let policy =
        serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count});
    clients
        .sqs
        .set_queue_attributes()
        .queue_url(&queue)
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .send()
        .await
        .map_err(|e| failed("work queue redrive policy", AwsError::from_sdk(e)))?;
    Ok(())
}

/// Entries of files RDS no longer lists carry an expiry; DynamoDB deletes them.
async fn enable_ttl(clients: &AwsClients, table: &str, resource: &str) -> Result<()> {
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| failed(resource, AwsError::other(e.to_string())))?;
    let updated = clients
        .dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await;
    match updated.map_err(AwsError::from_sdk) {
        Ok(_) => Ok(()),
        // Already enabled (a second `setup`) is what we want.
        Err(e) if e.message.contains("already enabled") => Ok(()),
        Err(e) => Err(failed(resource, e)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn queue_name_is_the_last_segment() {
        assert_eq!(
            super::queue_name("https://sqs.eu-west-1.amazonaws.com/123/work").unwrap(),
            "work"
        );
        assert!(super::queue_name("https://sqs.eu-west-1.amazonaws.com/").is_err());
    }
}
