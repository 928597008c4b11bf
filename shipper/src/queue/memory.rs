//! An in-memory work queue for unit tests, able to fail entries on demand.

use std::sync::Mutex;

use super::{EntryFailure, WorkQueue};
use crate::error::Result;

#[derive(Debug, Default)]
pub struct MemoryQueue {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    bodies: Vec<String>,
    batch_sizes: Vec<usize>,
    fail_entries: usize,
}

impl MemoryQueue {
    /// The next `n` entries sent are reported as failed (not sender faults).
    pub fn fail_next_entries(&self, n: usize) {
        self.inner.lock().expect("queue lock").fail_entries = n;
    }

    pub fn bodies(&self) -> Vec<String> {
        self.inner.lock().expect("queue lock").bodies.clone()
    }

    pub fn batch_sizes(&self) -> Vec<usize> {
        self.inner.lock().expect("queue lock").batch_sizes.clone()
    }
}

impl WorkQueue for MemoryQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<EntryFailure>> {
        let mut inner = self.inner.lock().expect("queue lock");
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
            }
        }
        Ok(failures)
    }
}
