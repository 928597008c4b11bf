//! Building the SDK clients and adapters once from an `SdkConfig`, so every
//! binary reaches its endpoints through the standard AWS settings.

use std::num::NonZeroU32;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::service_config::ServiceConfigKey;

use crate::config::{ListerConfig, WorkerConfig};
use crate::error::{Error, Result, causes};
use crate::lister::{Lister, ListerSettings, RegionCatalog};
use crate::manifest::DailyManifests;
use crate::queue::SqsQueue;
use crate::rds::{RdsLogCatalog, RdsRate, RestLogSource};
use crate::sink::S3Sink;
use crate::state::DynamoStateTable;
use crate::worker::Worker;

/// Attempts per RDS describe call: adaptive retry slows the client down when
/// RDS throttles, and a 1,000-instance cycle must not run out of attempts.
pub(crate) const RDS_MAX_ATTEMPTS: u32 = 10;

/// The standard provider chain: environment, profile, container, IMDS.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Checks that the SDK found a region and credentials, and names what to
/// set when it did not (an operator's first run) instead of the error of
/// the last provider tried (often IMDS, off EC2). The clients resolve the
/// credentials again through their cache: one more call, once per run.
pub async fn check_region_and_credentials(config: &SdkConfig) -> Result<()> {
    use aws_credential_types::provider::ProvideCredentials;
    use aws_credential_types::provider::error::CredentialsError;
    if config.region().is_none() {
        return Err(Error::NoRegion);
    }
    let provider = config.credentials_provider().ok_or(Error::NoCredentials)?;
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(Error::NoCredentials),
        // A profile or variables that are set but fail (an expired SSO
        // session, a role that cannot be assumed) say why.
        Err(e) if credentials_configured() => Err(Error::Credentials(causes(&e))),
        Err(e) => {
            tracing::debug!(error = %causes(&e), "no credentials provider succeeded");
            Err(Error::NoCredentials)
        }
    }
}

/// Whether the operator set credentials up: variables, a profile, or the
/// shared files.
fn credentials_configured() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let home_file = |name: &str| {
        std::env::var_os("HOME")
            .map(|home| std::path::Path::new(&home).join(".aws").join(name))
            .is_some_and(|path| path.exists())
    };
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ]
    .into_iter()
    .any(set)
        || home_file("config")
        || home_file("credentials")
}

/// The endpoint URL override for one service, resolved as the generated SDK
/// clients do: `AWS_ENDPOINT_URL_<SERVICE>` (or the profile's service
/// section), else `AWS_ENDPOINT_URL`; a URL set in code wins over both.
pub fn endpoint_override(config: &SdkConfig, service_id: &str) -> Option<String> {
    if config.get_origin("endpoint_url").is_client_config() {
        return config.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    config
        .service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}

/// Every client the pipeline uses, built once.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub log_source: RestLogSource,
}

impl AwsClients {
    pub async fn new(config: &SdkConfig) -> Result<Self> {
        Self::with_rds_config(config, config).await
    }

    /// Uses `rds_config` for RDS and `config` for everything else (tests point
    /// the two at different local servers).
    pub async fn with_rds_config(config: &SdkConfig, rds_config: &SdkConfig) -> Result<Self> {
        // Custom S3 endpoints (local emulators, S3-compatible stores) rarely
        // resolve bucket subdomains, so they get path-style addressing.
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(endpoint_override(config, "S3").is_some())
            .build();
        Ok(Self {
            rds: aws_sdk_rds::Client::new(rds_config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sqs: aws_sdk_sqs::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            log_source: RestLogSource::from_sdk_config(rds_config).await?,
        })
    }

    /// The lister over every configured region, each with its own RDS
    /// client: the region's rate limit, throttle counter and adaptive retry
    /// (RDS limits requests per account and region).
    pub fn lister(
        &self,
        config: &ListerConfig,
    ) -> Lister<RdsLogCatalog, DynamoStateTable, SqsQueue> {
        Lister {
            regions: self.region_catalogs(&config.regions, config.rds_rate, config.rds_burst),
            state: DynamoStateTable::new(self.dynamodb.clone(), &config.state_table),
            queue: SqsQueue::new(self.sqs.clone(), &config.queue_url),
            settings: ListerSettings::from_config(config),
        }
    }

    /// The RDS catalog of `region` (`None`: the SDK's own), for an operator
    /// command about one region's instances.
    pub fn catalog_in(&self, region: Option<&str>, rate: RdsRate) -> RdsLogCatalog {
        let mut rds = self.rds.config().to_builder();
        if let Some(region) = region {
            rds = rds.region(Region::new(region.to_owned()));
        }
        RdsLogCatalog::new(aws_sdk_rds::Client::from_conf(rds.build()), rate)
    }

    /// The daily manifests in the deployment's bucket, if it names one.
    pub fn manifests(&self, config: &ListerConfig) -> Option<DailyManifests<S3Sink>> {
        config.manifests.as_ref().map(|target| DailyManifests {
            archive: S3Sink::reader(self.s3.clone(), &target.bucket),
            prefix: target.prefix.clone(),
        })
    }

    /// One RDS catalog per region (`regions` empty: the SDK's own), each
    /// with its own rate limit, throttle counter and adaptive retry.
    pub fn region_catalogs(
        &self,
        regions: &[String],
        rds_rate: NonZeroU32,
        rds_burst: NonZeroU32,
    ) -> Vec<RegionCatalog<RdsLogCatalog>> {
        let regions: Vec<Option<String>> = if regions.is_empty() {
            vec![None]
        } else {
            regions.iter().cloned().map(Some).collect()
        };
        regions
            .into_iter()
            .map(|region| {
                let rate = RdsRate::new(rds_rate, rds_burst);
                let mut builder = self
                    .rds
                    .config()
                    .to_builder()
                    .retry_config(RetryConfig::adaptive().with_max_attempts(RDS_MAX_ATTEMPTS))
                    .interceptor(rate.counter());
                if let Some(region) = &region {
                    builder = builder.region(Region::new(region.clone()));
                }
                let client = aws_sdk_rds::Client::from_conf(builder.build());
                RegionCatalog {
                    region,
                    catalog: RdsLogCatalog::new(client, rate),
                }
            })
            .collect()
    }

    pub fn worker(&self, config: &WorkerConfig) -> Worker<RestLogSource, S3Sink, DynamoStateTable> {
        Worker {
            source: self.log_source.clone(),
            sink: S3Sink::new(
                self.s3.clone(),
                &config.bucket,
                config.part_size,
                config.parts_in_flight,
                config.stale_upload_after,
            )
            .with_prefix(&config.prefix),
            state: DynamoStateTable::new(self.dynamodb.clone(), &config.state_table),
            layout: config.layout.clone(),
            batch: config.batch,
        }
    }
}
