//! The SQS adapter's batch and error paths, against answers the local stack
//! does not give (`aws-smithy-mocks`).
use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
use aws_smithy_mocks::{Rule, mock};

use super::*;
use crate::mocks::{meta, mocked};

fn queue(rules: &[&Rule]) -> SqsQueue {
    SqsQueue::new(mocked!(aws_sdk_sqs, rules), "https://sqs/1/q")
}

#[tokio::test]
async fn entries_a_batch_refuses_are_returned_by_position_with_who_is_at_fault() {
    let partly = mock!(aws_sdk_sqs::Client::send_message_batch).then_output(|| {
        SendMessageBatchOutput::builder()
            .successful(
                SendMessageBatchResultEntry::builder()
                    .id("0")
                    .message_id("m")
                    .md5_of_message_body("x")
                    .build()
                    .unwrap(),
            )
            .failed(
                BatchResultErrorEntry::builder()
                    .id("1")
                    .code("InvalidMessageContents")
                    .message("bad character")
                    .sender_fault(true)
                    .build()
                    .unwrap(),
            )
            .failed(
                BatchResultErrorEntry::builder()
                    .id("2")
                    .code("InternalError")
                    .sender_fault(false)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let bodies = ["a", "b", "c"].map(String::from);
    let failed = queue(&[&partly]).send_batch(&bodies).await.unwrap();
    assert_eq!(
        failed,
        [
            EntryFailure {
                index: 1,
                reason: "InvalidMessageContents: bad character".into(),
                sender_fault: true,
            },
            EntryFailure {
                index: 2,
                reason: "InternalError: ".into(),
                sender_fault: false,
            },
        ]
    );
}

#[tokio::test]
async fn a_missing_queue_is_permanent_and_named_with_its_fix() {
    let missing = mock!(aws_sdk_sqs::Client::receive_message).then_error(|| {
        ReceiveMessageError::generic(meta(
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist.",
        ))
    });
    let err = queue(&[&missing]).receive(10, 30).await.unwrap_err();
    assert!(!err.is_transient());
    assert!(
        err.to_string().starts_with(
            "SQS ReceiveMessage on queue https://sqs/1/q failed: \
             AWS.SimpleQueueService.NonExistentQueue"
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("does not exist in this account and region"),
        "{err}"
    );
}
