//! The DynamoDB adapter's error paths, against answers the local stack does
//! not give as AWS does (`aws-smithy-mocks`).
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_smithy_mocks::{Rule, mock};

use super::*;
use crate::mocks::{meta, mocked};
use crate::version::FileVersion;

fn table(rules: &[&Rule]) -> DynamoStateTable {
    DynamoStateTable::new(mocked!(aws_sdk_dynamodb, rules), "t")
}

fn shipped() -> ShippedRecord {
    ShippedRecord {
        version: FileVersion::new(10, 100),
        listed_size: 10,
        at_ms: 1,
        key: "k".into(),
        stored_bytes: 10,
        crc32c: "AAAAAA==".into(),
        raw_crc32c: "AAAAAA==".into(),
        incarnation: None,
    }
}

#[tokio::test]
async fn a_newer_record_already_there_is_superseded_not_an_error() {
    let newer = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .build(),
        )
    });
    let update = table(&[&newer])
        .record_shipped("db", "f", &shipped())
        .await
        .unwrap();
    assert_eq!(update, StateUpdate::Superseded);
}

#[tokio::test]
async fn a_throttled_write_is_retried_a_missing_table_named_with_its_fix() {
    let throttled = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
        UpdateItemError::generic(meta("ProvisionedThroughputExceededException", "slow down"))
    });
    let err = table(&[&throttled])
        .record_shipped("db", "f", &shipped())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    let missing = mock!(aws_sdk_dynamodb::Client::query).then_error(|| {
        QueryError::generic(meta(
            "ResourceNotFoundException",
            "Requested resource not found",
        ))
    });
    let err = table(&[&missing]).files_of("db").await.unwrap_err();
    assert!(!err.is_transient());
    assert_eq!(
        err.to_string(),
        "DynamoDB Query on state table t failed: ResourceNotFoundException: Requested resource \
         not found; to fix: table t does not exist in this account and region: check the name \
         and AWS_REGION, deploy the stack or run `rdslogs setup`"
    );
}
