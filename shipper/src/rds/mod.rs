//! RDS as the pipeline sees it: a catalog of log files per instance
//! (`DescribeDBLogFiles`) and a source of whole files (the REST download).

mod catalog;
mod download;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

pub use catalog::RdsLogCatalog;
pub use download::{RestLogSource, RetryPolicy, download_url};

use crate::error::{Error, Result};
use crate::version::FileVersion;

/// One file as `DescribeDBLogFiles` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub name: String,
    pub version: FileVersion,
}

/// A file's bytes as they arrive; an error ends the stream.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

pub trait LogCatalog: Send + Sync {
    /// Every log file of an instance, all pages.
    fn log_files(&self, instance: &str) -> impl Future<Output = Result<Vec<ListedFile>>> + Send;
}

pub trait LogSource: Send + Sync {
    /// Opens the whole current file. A file or instance that no longer exists
    /// is `Error::LogFileGone`.
    fn open(&self, instance: &str, file: &str) -> impl Future<Output = Result<LogStream>> + Send;
}
