//! Unit tests of `download`.
use super::*;

#[test]
fn url_keeps_slashes_of_the_file_name_and_encodes_the_rest() {
    assert_eq!(
        download_url(
            "https://rds.eu-west-1.amazonaws.com/",
            "pg-1",
            "error/a b%+#ログ.log"
        ),
        "https://rds.eu-west-1.amazonaws.com/v19/downloadCompleteLogFile/pg-1/error/a%20b%25%2B%23%E3%83%AD%E3%82%B0.log"
    );
}

/// Counts how often the provider is asked; its credentials expire after
/// `lifetime`.
#[derive(Debug)]
struct CountingProvider {
    calls: Arc<std::sync::atomic::AtomicUsize>,
    lifetime: Duration,
}

impl ProvideCredentials for CountingProvider {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let expiry = SystemTime::now() + self.lifetime;
        aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
            "AKID",
            "secret",
            None,
            Some(expiry),
            "test",
        )))
    }
}

async fn source_with(lifetime: Duration) -> (RestLogSource, Arc<std::sync::atomic::AtomicUsize>) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let provider = CountingProvider {
        calls: calls.clone(),
        lifetime,
    };
    let config = SdkConfig::builder()
        .region(aws_types::region::Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build();
    (
        RestLogSource::from_sdk_config(&config).await.unwrap(),
        calls,
    )
}

#[tokio::test]
async fn credentials_are_fetched_once_per_lifetime_not_per_download() {
    let (source, calls) = source_with(Duration::from_secs(3600)).await;
    for _ in 0..3 {
        source.credentials().await.unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Credentials about to expire are fetched again each time.
    let (source, calls) = source_with(Duration::from_secs(60)).await;
    source.credentials().await.unwrap();
    source.credentials().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn reads_code_and_message_from_an_error_body() {
    let body = "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\
                <Error><Type>Sender</Type><Code>DBLogFileNotFoundFault</Code>\
                <Message>gone &amp; away: &lt;error/x.log&gt; &quot;q&quot;</Message></Error>\
                <RequestId>r</RequestId></ErrorResponse>";
    assert_eq!(
        error_fields(body),
        (
            Some("DBLogFileNotFoundFault".to_owned()),
            Some("gone & away: <error/x.log> \"q\"".to_owned())
        )
    );
    assert_eq!(error_fields("Service Unavailable"), (None, None));
    assert_eq!(
        error_fields("<Error><Code>Throttling</Code></Error>"),
        (Some("Throttling".to_owned()), None)
    );
    assert!(is_skew(403, "Signature expired: 2026 is now earlier than"));
    assert!(!is_skew(
        403,
        "The security token included in the request is invalid."
    ));
}
