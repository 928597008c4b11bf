//! An in-memory object sink for unit tests, with ETags and preconditions.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{ExistingObject, ObjectSink, PartReader, Precondition, StoredObject};
use crate::error::{Error, Result};
use crate::rds::LogStream;

#[derive(Debug, Default)]
pub struct MemorySink {
    objects: Mutex<BTreeMap<String, (ExistingObject, Vec<u8>)>>,
    writes: Mutex<u64>,
}

impl MemorySink {
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .expect("sink lock")
            .get(key)
            .map(|(_, b)| b.clone())
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
    async fn current(&self, key: &str) -> Result<Option<ExistingObject>> {
        Ok(self
            .objects
            .lock()
            .expect("sink lock")
            .get(key)
            .map(|(o, _)| o.clone()))
    }

    async fn store(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        content_encoding: Option<&'static str>,
        body: LogStream,
        precondition: &Precondition,
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
        let total = reader.total();
        let checksums = reader.checksums();
        let mut objects = self.objects.lock().expect("sink lock");
        let holds = match (precondition, objects.get(key)) {
            (Precondition::Absent, None) => true,
            (Precondition::Unchanged(etag), Some((o, _))) => &o.etag == etag,
            _ => false,
        };
        if !holds {
            return Err(Error::ObjectChanged {
                bucket: "memory".into(),
                key: key.to_owned(),
            });
        }
        let mut writes = self.writes.lock().expect("writes lock");
        *writes += 1;
        let object = ExistingObject::from_metadata(
            format!("\"{}\"", *writes),
            total,
            |name| {
                metadata
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            },
            content_encoding.map(str::to_owned),
            Some(checksums.crc32c_base64.clone()),
        );
        objects.insert(key.to_owned(), (object, bytes));
        Ok(StoredObject {
            bytes: total,
            checksums,
            parts,
        })
    }
}
