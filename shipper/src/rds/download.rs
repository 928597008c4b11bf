//! The REST download `GET /v19/downloadCompleteLogFile/{instance}/{file}`,
//! signed with SigV4 by `aws-sigv4`. Unlike `DownloadDBLogFilePortion` it
//! returns the file's raw bytes, whole, so nothing is truncated or re-encoded.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_rds::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_types::SdkConfig;
use futures_util::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{IncarnationLookup, LogSource, LogStream, cut_when_late};
use crate::error::{DownloadError, Error, Result};
use crate::retry::RetryPolicy;
use answer::{error_fields, is_skew};

/// Credentials this close to expiry are fetched again before signing.
const CREDENTIALS_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A connection RDS has not accepted by then is retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A body that sends nothing for this long is cut and retried: a stalled
/// connection must not hold the worker until its deadline.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The download URL: the instance and each `/`-separated part of the file
/// name percent-encoded, the separators kept.
pub fn download_url(endpoint: &str, instance: &str, file: &str) -> String {
    let file: Vec<String> = file
        .split('/')
        .map(|part| utf8_percent_encode(part, SEGMENT).to_string())
        .collect();
    format!(
        "{}/v19/downloadCompleteLogFile/{}/{}",
        endpoint.trim_end_matches('/'),
        utf8_percent_encode(instance, SEGMENT),
        file.join("/")
    )
}

/// Downloads whole log files from the RDS endpoint the SDK config resolves.
#[derive(Debug, Clone)]
pub struct RestLogSource {
    /// The SDK's own HTTP client (hyper and rustls), shared with nothing
    /// else but built the same way.
    http: Arc<Connector>,
    endpoint: String,
    pub(super) region: String,
    /// How to reach other regions' endpoints (messages may name one).
    endpoint_params: EndpointSettings,
    credentials: SharedCredentialsProvider,
    /// The SDK config hands out the provider chain without the SDK clients'
    /// identity cache, so this source keeps its own: one lookup per
    /// credential lifetime, not one per file (IMDS, ECS, STS).
    cached: Arc<tokio::sync::Mutex<Option<Credentials>>>,
    time: SharedTimeSource,
    /// Seconds to add to the local clock, learnt from an RDS answer that our
    /// signature's time was too far off (the SDK corrects its own calls, but
    /// not this hand-signed one).
    skew_secs: Arc<AtomicI64>,
    /// How long a body may send nothing before it is cut.
    idle: Duration,
    retry: RetryPolicy,
    /// For `DescribeDBInstances`: which incarnation serves the downloads.
    pub(super) rds: aws_sdk_rds::Client,
}

/// What resolving an RDS endpoint needs besides the region.
#[derive(Debug, Clone)]
struct EndpointSettings {
    override_url: Option<String>,
    use_fips: bool,
    use_dual_stack: bool,
}

impl EndpointSettings {
    async fn resolve(&self, region: &str) -> Result<String> {
        let config_error = |reason: String| Error::Config {
            name: "AWS SDK configuration",
            reason,
        };
        let params = Params::builder()
            .region(region.to_owned())
            .use_fips(self.use_fips)
            .use_dual_stack(self.use_dual_stack)
            .set_endpoint(self.override_url.clone())
            .build()
            .map_err(|e| config_error(e.to_string()))?;
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .map_err(|e| {
                config_error(format!("cannot resolve the RDS endpoint of {region}: {e}"))
            })?;
        Ok(endpoint.url().to_owned())
    }
}

impl RestLogSource {
    /// Resolves the endpoint exactly as aws-sdk-rds would: `AWS_ENDPOINT_URL_RDS`,
    /// then `AWS_ENDPOINT_URL` (or their profile settings), else the regional
    /// endpoint with FIPS and dual-stack as configured.
    pub async fn from_sdk_config(config: &SdkConfig) -> Result<Self> {
        let region = config.region().ok_or(Error::NoRegion)?.to_string();
        let endpoint_params = EndpointSettings {
            override_url: crate::aws::endpoint_override(config, "RDS"),
            use_fips: config.use_fips().unwrap_or(false),
            use_dual_stack: config.use_dual_stack().unwrap_or(false),
        };
        let endpoint = endpoint_params.resolve(&region).await?;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| Error::Credentials("no credentials provider is configured".into()))?;
        let time = config.time_source().unwrap_or_else(|| {
            SharedTimeSource::new(aws_smithy_async::time::SystemTimeSource::new())
        });
        let http = Arc::new(
            Connector::builder()
                .connector_settings(
                    HttpConnectorSettings::builder()
                        .connect_timeout(CONNECT_TIMEOUT)
                        .read_timeout(IDLE_TIMEOUT)
                        .build(),
                )
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build(),
        );
        Ok(Self {
            http,
            endpoint,
            region,
            endpoint_params,
            credentials,
            time,
            skew_secs: Arc::new(AtomicI64::new(0)),
            retry: RetryPolicy::default(),
            idle: IDLE_TIMEOUT,
            cached: Arc::default(),
            // Adaptive, like the lister's: the describe calls of every
            // worker share the account's RDS rate with everyone else's.
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(config)
                    .retry_config(
                        aws_config::retry::RetryConfig::adaptive()
                            .with_max_attempts(crate::aws::RDS_MAX_ATTEMPTS),
                    )
                    .build(),
            ),
        })
    }

    /// Replaces the retry policy (tests shorten the delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces how long a body may send nothing (tests shorten it).
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn signing_time(&self) -> SystemTime {
        let skew = self.skew_secs.load(Ordering::Relaxed);
        let now = self.time.now();
        if skew >= 0 {
            now + Duration::from_secs(skew as u64)
        } else {
            now - Duration::from_secs(skew.unsigned_abs())
        }
    }

    /// Cached credentials, refreshed five minutes before they expire.
    async fn credentials(&self) -> Result<Credentials, DownloadError> {
        let mut cached = self.cached.lock().await;
        let refresh_after = SystemTime::now() + CREDENTIALS_REFRESH_MARGIN;
        if let Some(credentials) = cached.as_ref()
            && credentials
                .expiry()
                .is_none_or(|expiry| expiry > refresh_after)
        {
            return Ok(credentials.clone());
        }
        let fresh = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| DownloadError::Credentials(e.to_string()))?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn signed_get(&self, region: &str, url: &str) -> Result<HttpResponse, DownloadError> {
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("rds")
            .time(self.signing_time())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| DownloadError::Signing(e.to_string()))?
            .into();
        let signable =
            SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
                .map_err(|e| DownloadError::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| DownloadError::Signing(e.to_string()))?
            .into_parts();
        let mut request = http::Request::get(url);
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let request = request
            .body(SdkBody::empty())
            .map_err(|e| DownloadError::Signing(e.to_string()))
            .and_then(|r| {
                HttpRequest::try_from(r).map_err(|e| DownloadError::Signing(e.to_string()))
            })?;
        self.http
            .call(request)
            .await
            .map_err(|e| DownloadError::Transport {
                received: 0,
                reason: crate::error::causes(&e),
            })
    }

    /// Learns the clock offset from a "signature expired" answer's `Date`.
    fn learn_skew(&self, response: &HttpResponse) -> bool {
        let Some(server) = response.headers().get("date").and_then(|v| {
            aws_smithy_types::DateTime::from_str(v, aws_smithy_types::date_time::Format::HttpDate)
                .ok()
        }) else {
            return false;
        };
        let local = aws_smithy_types::DateTime::from(self.time.now());
        self.skew_secs
            .store(server.secs() - local.secs(), Ordering::Relaxed);
        true
    }
}

impl LogSource for RestLogSource {
    fn incarnation(&self, region: Option<&str>, instance: &str) -> IncarnationLookup {
        self.describe_incarnation(region, instance)
    }

    async fn open(&self, region: Option<&str>, instance: &str, file: &str) -> Result<LogStream> {
        let (region, endpoint) = match region {
            Some(region) if region != self.region => {
                (region, self.endpoint_params.resolve(region).await?)
            }
            _ => (self.region.as_str(), self.endpoint.clone()),
        };
        let url = download_url(&endpoint, instance, file);
        let download_error = |source| Error::Download {
            instance: instance.to_owned(),
            file: file.to_owned(),
            source,
        };
        let mut retried_skew = false;
        let mut attempt = 0;
        let response = loop {
            attempt += 1;
            let failure = match self.signed_get(region, &url).await {
                Ok(response) if response.status().is_success() => break response,
                Ok(response) => {
                    let status = response.status().as_u16();
                    let skew_learnt = self.learn_skew(&response);
                    let body = ByteStream::new(response.into_body())
                        .collect()
                        .await
                        .map(|b| String::from_utf8_lossy(&b.into_bytes()).into_owned())
                        .unwrap_or_default();
                    let (code, message) = error_fields(&body);
                    let code = code.unwrap_or_else(|| "Unknown".into());
                    let message = message.unwrap_or_else(|| body.chars().take(200).collect());
                    if is_skew(status, &message) && skew_learnt && !retried_skew {
                        tracing::warn!(
                            instance,
                            file,
                            skew_secs = self.skew_secs.load(Ordering::Relaxed),
                            "clock skew detected; signing again with the server's time"
                        );
                        retried_skew = true;
                        attempt -= 1;
                        continue;
                    }
                    if status == 404
                        && matches!(
                            code.as_str(),
                            "DBLogFileNotFoundFault"
                                | "DBInstanceNotFound"
                                | "DBInstanceNotFoundFault"
                        )
                    {
                        return Err(Error::LogFileGone {
                            instance: instance.to_owned(),
                            file: file.to_owned(),
                            reason: format!("{code}: {message}"),
                        });
                    }
                    DownloadError::Status {
                        status,
                        code,
                        message,
                    }
                }
                Err(e) => e,
            };
            let error = download_error(failure);
            // Nothing was received yet, so trying again now is cheap; what
            // is worth retrying at all is decided by `is_transient` alone.
            if !error.is_transient() || attempt >= self.retry.attempts {
                return Err(error);
            }
            let delay = self.retry.delay(attempt);
            tracing::warn!(instance, file, attempt, delay_ms = delay.as_millis() as u64, error = %error, "download failed; retrying");
            tokio::time::sleep(delay).await;
        };
        Ok(body_stream(
            ByteStream::new(response.into_body()),
            instance,
            file,
            self.idle,
        ))
    }
}

/// The body as a stream of chunks; a transport error, or no bytes for
/// `idle`, ends it with an error that says how far it got.
fn body_stream(body: ByteStream, instance: &str, file: &str, idle: Duration) -> LogStream {
    let failed = {
        let (instance, file) = (instance.to_owned(), file.to_owned());
        move |received, reason| Error::Download {
            instance: instance.clone(),
            file: file.clone(),
            source: DownloadError::Transport { received, reason },
        }
    };
    let mut received = 0u64;
    let on_error = failed.clone();
    let chunks = futures_util::stream::unfold(body, |mut body| async move {
        body.next().await.map(|chunk| (chunk, body))
    })
    .map(move |chunk| match chunk {
        Ok(bytes) => {
            received += bytes.len() as u64;
            Ok(bytes)
        }
        Err(e) => Err(on_error(received, crate::error::causes(&e))),
    });
    cut_when_late(
        Box::pin(chunks),
        move || tokio::time::Instant::now() + idle,
        move |received| failed(received, format!("no bytes for {} s", idle.as_secs())),
    )
}

mod answer;
#[cfg(test)]
mod tests;
