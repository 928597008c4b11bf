//! An in-memory dead-letter queue for unit tests: holds, receipts, and
//! failures on demand.

use std::sync::Mutex;

use super::{DeadLetter, DeadLetterQueue};
use crate::error::Result;
use crate::queue::{EntryFailure, MAX_BATCH};

#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    messages: Vec<Message>,
    next_id: u64,
    next_receipt: u64,
    holds_expire: bool,
    fail_deletes: usize,
}

#[derive(Debug)]
struct Message {
    id: String,
    body: String,
    held: bool,
    receives: u64,
    receipt: String,
}

impl MemoryDeadLetters {
    pub fn push(&self, body: &str) {
        let mut inner = self.inner.lock().expect("dlq lock");
        inner.next_id += 1;
        let id = format!("m-{:04}", inner.next_id);
        inner.messages.push(Message {
            id,
            body: body.to_owned(),
            held: false,
            receives: 0,
            receipt: String::new(),
        });
    }

    /// Received messages are visible again at once, as if every hold ran out.
    pub fn holds_expire_at_once(&self) {
        self.inner.lock().expect("dlq lock").holds_expire = true;
    }

    /// The next `n` deletes fail.
    pub fn fail_next_deletes(&self, n: usize) {
        self.inner.lock().expect("dlq lock").fail_deletes = n;
    }

    pub fn len(&self) -> usize {
        self.inner.lock().expect("dlq lock").messages.len()
    }

    pub fn visible(&self) -> usize {
        let inner = self.inner.lock().expect("dlq lock");
        inner.messages.iter().filter(|m| !m.held).count()
    }
}

impl DeadLetterQueue for MemoryDeadLetters {
    async fn receive(&self, _hold_secs: i32) -> Result<Vec<DeadLetter>> {
        let mut inner = self.inner.lock().expect("dlq lock");
        let expire = inner.holds_expire;
        let mut out = Vec::new();
        let mut next_receipt = inner.next_receipt;
        for m in inner
            .messages
            .iter_mut()
            .filter(|m| !m.held)
            .take(MAX_BATCH)
        {
            next_receipt += 1;
            m.held = !expire;
            m.receives += 1;
            m.receipt = format!("r-{next_receipt}");
            out.push(DeadLetter {
                id: m.id.clone(),
                receipt: m.receipt.clone(),
                body: m.body.clone(),
                sent_ms: Some(1_000),
                receive_count: Some(m.receives),
            });
        }
        inner.next_receipt = next_receipt;
        Ok(out)
    }

    async fn release(&self, receipts: &[String]) -> Result<Vec<EntryFailure>> {
        let mut inner = self.inner.lock().expect("dlq lock");
        for m in inner.messages.iter_mut() {
            if receipts.contains(&m.receipt) {
                m.held = false;
            }
        }
        Ok(Vec::new())
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<EntryFailure>> {
        let mut inner = self.inner.lock().expect("dlq lock");
        let mut failures = Vec::new();
        for (index, receipt) in receipts.iter().enumerate() {
            if inner.fail_deletes > 0 {
                inner.fail_deletes -= 1;
                failures.push(EntryFailure {
                    index,
                    reason: "ReceiptHandleIsInvalid".into(),
                    sender_fault: true,
                });
            } else {
                inner.messages.retain(|m| &m.receipt != receipt);
            }
        }
        Ok(failures)
    }

    async fn approximate_len(&self) -> Result<u64> {
        Ok(self.len() as u64)
    }

    async fn purge(&self) -> Result<()> {
        self.inner.lock().expect("dlq lock").messages.clear();
        Ok(())
    }
}
