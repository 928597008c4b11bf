//! `DescribeDBLogFiles` through aws-sdk-rds, every page.

use aws_sdk_rds::Client;

use super::{ListedFile, LogCatalog};
use crate::error::{AwsError, Error, Result};
use crate::version::FileVersion;

#[derive(Debug, Clone)]
pub struct RdsLogCatalog {
    client: Client,
}

impl RdsLogCatalog {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl LogCatalog for RdsLogCatalog {
    async fn log_files(&self, instance: &str) -> Result<Vec<ListedFile>> {
        let mut pages = self
            .client
            .describe_db_log_files()
            .db_instance_identifier(instance)
            .into_paginator()
            .send();
        let mut files = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::Listing {
                instance: instance.to_owned(),
                source: AwsError::from_sdk(e),
            })?;
            for detail in page.describe_db_log_files() {
                let Some(name) = detail.log_file_name() else {
                    continue;
                };
                files.push(ListedFile {
                    name: name.to_owned(),
                    version: FileVersion::new(
                        detail.size().unwrap_or(0).max(0) as u64,
                        detail.last_written().unwrap_or(0),
                    ),
                });
            }
        }
        Ok(files)
    }
}
