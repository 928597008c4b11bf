//! Commands with nothing to show say so in words, not with a header over
//! no rows.

use integration_tests::{LocalStack, StackOptions};

use crate::{rdslogs, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_queue_table_and_dead_letter_queue_are_said_in_words() {
    let stack = LocalStack::start(StackOptions::default()).await;
    assert_eq!(
        stdout(&rdslogs(&stack, &["work", "--until-empty"])),
        "nothing to ship: the work queue is empty\n"
    );
    assert_eq!(
        stdout(&rdslogs(&stack, &["status"])),
        "nothing shipped or pending yet: the state table holds no log file\n\
         lister: no cycle recorded yet\n"
    );
    assert_eq!(
        stdout(&rdslogs(&stack, &["dlq", "list"])),
        "nothing dead-lettered: the dead-letter queue is empty\n"
    );
}
