//! `DescribeDBInstances` and `DescribeDBLogFiles` through aws-sdk-rds, every
//! page, each page waiting its turn at the region's rate limiter.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_rds::Client;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_sdk_rds::operation::describe_db_log_files::DescribeDBLogFilesError;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    Error as ErasedError, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{ListedFile, LogCatalog};
use crate::error::{AwsCall, AwsError, Error, Result, THROTTLING_CODES};
use crate::fleet::DbInstance;
use crate::version::FileVersion;

/// Limits the describe calls of one region and counts RDS's throttling
/// answers (the SDK's adaptive retry absorbs them; the count is a metric).
#[derive(Debug, Clone)]
pub struct RdsRate {
    limiter: Arc<DefaultDirectRateLimiter>,
    throttled: Arc<AtomicU64>,
}

impl RdsRate {
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(burst),
            )),
            throttled: Arc::new(AtomicU64::new(0)),
        }
    }

    async fn turn(&self) {
        self.limiter.until_ready().await;
    }

    /// Throttling answers seen since the last call.
    pub fn take_throttled(&self) -> u64 {
        self.throttled.swap(0, Ordering::Relaxed)
    }

    /// The interceptor to install on the region's RDS client.
    pub fn counter(&self) -> ThrottleCounter {
        ThrottleCounter {
            throttled: self.throttled.clone(),
        }
    }
}

/// Counts attempts that RDS refused as throttled, retried or not.
#[derive(Debug, Clone)]
pub struct ThrottleCounter {
    throttled: Arc<AtomicU64>,
}

fn is_throttling(error: &ErasedError) -> bool {
    let code = error
        .downcast_ref::<DescribeDBLogFilesError>()
        .and_then(|e| e.code())
        .or_else(|| {
            error
                .downcast_ref::<DescribeDBInstancesError>()
                .and_then(|e| e.code())
        });
    code.is_some_and(|code| THROTTLING_CODES.contains(&code))
}

impl Intercept for ThrottleCounter {
    fn name(&self) -> &'static str {
        "ThrottleCounter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        if let Some(Err(error)) = context.output_or_error()
            && error.as_operation_error().is_some_and(is_throttling)
        {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct RdsLogCatalog {
    client: Client,
    rate: RdsRate,
    /// For error messages: the region's name, or "default".
    region: String,
}

impl RdsLogCatalog {
    /// `client` should carry `rate.counter()` as an interceptor.
    pub fn new(client: Client, rate: RdsRate) -> Self {
        let region = client
            .config()
            .region()
            .map_or_else(|| "default".to_owned(), |r| r.to_string());
        Self {
            client,
            rate,
            region,
        }
    }

    pub fn rate(&self) -> &RdsRate {
        &self.rate
    }
}

impl LogCatalog for RdsLogCatalog {
    async fn instances(&self) -> Result<Vec<DbInstance>> {
        let mut found = Vec::new();
        let mut marker = None;
        loop {
            // Paged by hand so that each request, and only a request, waits
            // for a token (a paginator only learns it is done by asking).
            self.rate.turn().await;
            let page = self
                .client
                .describe_db_instances()
                .max_records(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| Error::Discovery {
                    region: self.region.clone(),
                    source: AwsError::from_sdk(e).in_call(AwsCall {
                        action: "rds:DescribeDBInstances",
                        resource: "arn:aws:rds:<region>:<account>:db:*",
                    }),
                })?;
            found.extend(page.db_instances().iter().filter_map(db_instance));
            marker = next_marker(page.marker());
            if marker.is_none() {
                return Ok(found);
            }
        }
    }

    async fn log_files(
        &self,
        instance: &str,
        written_since_ms: Option<i64>,
    ) -> Result<Vec<ListedFile>> {
        let mut files = Vec::new();
        let mut marker = None;
        loop {
            self.rate.turn().await;
            let page = self
                .client
                .describe_db_log_files()
                .db_instance_identifier(instance)
                .set_file_last_written(written_since_ms)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| Error::Listing {
                    instance: instance.to_owned(),
                    source: AwsError::from_sdk(e).in_call(AwsCall {
                        action: "rds:DescribeDBLogFiles",
                        resource: &format!("DB instance {instance}"),
                    }),
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
            marker = next_marker(page.marker());
            if marker.is_none() {
                return Ok(files);
            }
        }
    }

    fn take_throttled(&self) -> u64 {
        self.rate.take_throttled()
    }
}

fn next_marker(marker: Option<&str>) -> Option<String> {
    marker.filter(|m| !m.is_empty()).map(str::to_owned)
}

fn db_instance(db: &aws_sdk_rds::types::DbInstance) -> Option<DbInstance> {
    Some(DbInstance {
        id: db.db_instance_identifier()?.to_owned(),
        engine: db.engine().unwrap_or_default().to_owned(),
        status: db.db_instance_status().unwrap_or_default().to_owned(),
        cluster: db.db_cluster_identifier().map(str::to_owned),
        resource_id: db.dbi_resource_id().map(str::to_owned),
        tags: db
            .tag_list()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    })
}
