//! An in-memory queue for unit tests, both ports: sends, receives with
//! holds and receipts, redrive after a number of receives (as SQS moves a
//! message to its dead-letter queue), and failures on demand.

use std::sync::Mutex;

use super::{EntryFailure, MAX_BATCH, ReceivedMessage, ReceivingQueue, WorkQueue};
use crate::error::Result;

#[derive(Debug, Default)]
pub struct MemoryQueue {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every body ever sent, in order.
    bodies: Vec<String>,
    batch_sizes: Vec<usize>,
    fail_entries: usize,
    /// What the queue holds now.
    messages: Vec<Message>,
    next_id: u64,
    next_receipt: u64,
    holds_expire: bool,
    fail_deletes: usize,
    /// Receives after which a message leaves for `dead_letters`.
    max_receives: Option<u64>,
    dead_letters: Vec<String>,
}

#[derive(Debug)]
struct Message {
    id: String,
    body: String,
    held: bool,
    receives: u64,
    receipt: String,
}

impl Inner {
    fn push(&mut self, body: &str) {
        self.next_id += 1;
        self.messages.push(Message {
            id: format!("m-{:04}", self.next_id),
            body: body.to_owned(),
            held: false,
            receives: 0,
            receipt: String::new(),
        });
    }
}

impl MemoryQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("queue lock")
    }

    /// Puts a message on the queue, as another sender would.
    pub fn push(&self, body: &str) {
        self.lock().push(body);
    }

    /// The next `n` entries sent are reported as failed (not sender faults).
    pub fn fail_next_entries(&self, n: usize) {
        self.lock().fail_entries = n;
    }

    /// Received messages are visible again at once, as if every hold ran out.
    pub fn holds_expire_at_once(&self) {
        self.lock().holds_expire = true;
    }

    /// The next `n` deletes fail.
    pub fn fail_next_deletes(&self, n: usize) {
        self.lock().fail_deletes = n;
    }

    /// A message visible again after `n` receives leaves for the
    /// dead-letter queue instead, as SQS's redrive policy does.
    pub fn dead_letter_after(&self, n: u64) {
        self.lock().max_receives = Some(n);
    }

    /// Every body ever sent.
    pub fn bodies(&self) -> Vec<String> {
        self.lock().bodies.clone()
    }

    pub fn batch_sizes(&self) -> Vec<usize> {
        self.lock().batch_sizes.clone()
    }

    /// Messages on the queue now, held or not.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn visible(&self) -> usize {
        self.lock().messages.iter().filter(|m| !m.held).count()
    }

    /// Bodies moved out after too many receives.
    pub fn dead_letters(&self) -> Vec<String> {
        self.lock().dead_letters.clone()
    }
}

impl WorkQueue for MemoryQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<EntryFailure>> {
        let mut inner = self.lock();
        inner.batch_sizes.push(bodies.len());
        let mut failures = Vec::new();
        for (index, body) in bodies.iter().enumerate() {
            if inner.fail_entries > 0 {
                inner.fail_entries -= 1;
                failures.push(EntryFailure {
                    index,
                    reason: "injected failure".into(),
                    sender_fault: false,
                });
            } else {
                inner.bodies.push(body.clone());
                inner.push(body);
            }
        }
        Ok(failures)
    }
}

impl ReceivingQueue for MemoryQueue {
    async fn receive(&self, max: usize, _hold_secs: i32) -> Result<Vec<ReceivedMessage>> {
        let mut inner = self.lock();
        if let Some(limit) = inner.max_receives {
            let (dead, kept): (Vec<Message>, Vec<Message>) = std::mem::take(&mut inner.messages)
                .into_iter()
                .partition(|m| !m.held && m.receives >= limit);
            inner.messages = kept;
            inner.dead_letters.extend(dead.into_iter().map(|m| m.body));
        }
        let expire = inner.holds_expire;
        let mut next_receipt = inner.next_receipt;
        let mut out = Vec::new();
        for m in inner
            .messages
            .iter_mut()
            .filter(|m| !m.held)
            .take(max.min(MAX_BATCH))
        {
            next_receipt += 1;
            m.held = !expire;
            m.receives += 1;
            m.receipt = format!("r-{next_receipt}");
            out.push(ReceivedMessage {
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

    async fn release(&self, receipts: &[String], _after_secs: i32) -> Result<Vec<EntryFailure>> {
        for m in self.lock().messages.iter_mut() {
            if receipts.contains(&m.receipt) {
                m.held = false;
            }
        }
        Ok(Vec::new())
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<EntryFailure>> {
        let mut inner = self.lock();
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
        self.lock().messages.clear();
        Ok(())
    }
}
