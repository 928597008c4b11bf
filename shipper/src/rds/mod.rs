//! RDS as the pipeline sees it: a catalog of log files per instance
//! (`DescribeDBLogFiles`) and a source of whole files (the REST download).

mod catalog;
mod download;
mod incarnation;
mod stream;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

pub use catalog::{RdsLogCatalog, RdsRate, ThrottleCounter};
pub use download::{RestLogSource, download_url};
pub use stream::cut_when_late;

/// An incarnation lookup with a known answer (in-memory sources).
pub fn known_incarnation(id: Option<String>) -> IncarnationLookup {
    Box::pin(std::future::ready(Ok(id)))
}

use crate::error::{Error, Result};
use crate::fleet::DbInstance;
use crate::version::FileVersion;

/// One file as `DescribeDBLogFiles` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub name: String,
    pub version: FileVersion,
}

/// A file's bytes as they arrive; an error ends the stream.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// Which incarnation (`DbiResourceId`) carries an instance identifier now;
/// `None` when RDS no longer knows the identifier. Owned, so a stream can
/// ask at its end.
pub type IncarnationLookup = Pin<Box<dyn Future<Output = Result<Option<String>>> + Send>>;

pub trait LogCatalog: Send + Sync {
    /// Every DB instance of the region, all pages, with engine, status,
    /// cluster and tags.
    fn instances(&self) -> impl Future<Output = Result<Vec<DbInstance>>> + Send;

    /// An instance's log files, all pages; with `written_since_ms`, only
    /// files last written at or after that time (RDS's `FileLastWritten`).
    fn log_files(
        &self,
        instance: &str,
        written_since_ms: Option<i64>,
    ) -> impl Future<Output = Result<Vec<ListedFile>>> + Send;

    /// Throttling answers RDS gave since the last call (0 if not counted).
    fn take_throttled(&self) -> u64 {
        0
    }
}

pub trait LogSource: Send + Sync {
    /// Opens the whole current file, from `region` (`None`: the source's
    /// own). A file or instance that no longer exists is `Error::LogFileGone`.
    fn open(
        &self,
        region: Option<&str>,
        instance: &str,
        file: &str,
    ) -> impl Future<Output = Result<LogStream>> + Send;

    /// The `DbiResourceId` of the instance named `instance` now, in `region`
    /// (`None`: the source's own). A new incarnation under the same name (a
    /// Blue/Green switchover, a restore) has another one.
    fn incarnation(&self, region: Option<&str>, instance: &str) -> IncarnationLookup;
}
