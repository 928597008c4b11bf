//! The poller over the in-memory queue, with the worker's fakes: successes
//! are deleted, failures come back until the queue dead-letters them.
use super::*;
use crate::queue::{MemoryQueue, WorkQueue};
use crate::worker::tests::{body, worker};

#[tokio::test]
async fn successes_are_deleted_and_failures_come_back_until_dead_lettered() {
    // GIVEN two files the source serves and one it does not have
    let w = worker();
    for file in ["a.log", "b.log"] {
        w.source
            .files
            .lock()
            .unwrap()
            .insert(file.into(), b"0123456789".to_vec());
    }
    let queue = MemoryQueue::default();
    queue.dead_letter_after(3);
    let bodies = vec![
        body("a.log", 10, 1),
        body("b.log", 10, 1),
        // Fails every time: SQS delivers it again until its redrive policy.
        "not a ship request".to_owned(),
    ];
    queue.send_batch(&bodies).await.unwrap();
    // WHEN the poller drains the queue in batches of two
    let options = PollOptions {
        batch_size: 2,
        ..PollOptions::default()
    };
    let mut outcomes = Vec::new();
    poll(&queue, &w, &options, |r| outcomes.push(r.result.is_ok()))
        .await
        .unwrap();
    // THEN both files shipped once, the bad message was tried three times
    // and dead-lettered, and nothing is left
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 2);
    assert_eq!(outcomes.iter().filter(|ok| !**ok).count(), 3);
    assert_eq!(queue.dead_letters(), ["not a ship request"]);
    assert!(queue.is_empty());
}
