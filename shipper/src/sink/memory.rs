//! An in-memory object sink for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{ObjectSink, PartReader, StoredObject};
use crate::error::Result;
use crate::rds::LogStream;

#[derive(Debug, Default)]
pub struct MemorySink {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemorySink {
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().expect("sink lock").get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.objects
            .lock()
            .expect("sink lock")
            .keys()
            .cloned()
            .collect()
    }
}

impl ObjectSink for MemorySink {
    async fn store(
        &self,
        key: &str,
        _metadata: &[(&'static str, String)],
        body: LogStream,
    ) -> Result<StoredObject> {
        let mut reader = PartReader::new(body, 1 << 20);
        let mut bytes = Vec::new();
        let mut parts = 0;
        loop {
            bytes.extend_from_slice(&reader.next_part().await?);
            parts += 1;
            if reader.finished() {
                break;
            }
        }
        self.objects
            .lock()
            .expect("sink lock")
            .insert(key.to_owned(), bytes);
        Ok(StoredObject {
            bytes: reader.total(),
            sha256: reader.sha256_hex(),
            parts,
        })
    }
}
