//! The local stack for integration tests: moto (started by `scripts/moto.sh`)
//! for S3, SQS and DynamoDB, and an in-process simulated RDS per test, with
//! uniquely named bucket, table and queues.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use rds_sim::generate::{GenerateOptions, generate};
use rds_sim::{AcceptedCredentials, RunningSim, SimConfig};
use shipper::aws::AwsClients;
use shipper::config::{self, ListerConfig, RawSettings, WorkerConfig};
use shipper::lister::CycleReport;
use shipper::message::ShipRequest;
use shipper::poller::{PollOptions, poll};
use shipper::retry::RetryPolicy;
use shipper::version::{FileVersion, LogFileVersion};
use shipper::worker::RecordResult;
use tempfile::TempDir;

mod cleanup;
pub use cleanup::StackResources;

pub const ACCESS_KEY: &str = "AKIDLOCALSTACK";
pub const SECRET_KEY: &str = "local-stack-secret-key";
pub const SESSION_TOKEN: &str = "local-stack-session-token";
pub const REGION: &str = "eu-west-1";

/// The moto endpoint: `RDSLOGS_TEST_MOTO_URL`, else the one `scripts/moto.sh
/// start` recorded. Panics with instructions when neither is there.
pub fn moto_url() -> String {
    if let Ok(url) = std::env::var("RDSLOGS_TEST_MOTO_URL") {
        return url;
    }
    let recorded = workspace_root().join(".local/moto.url");
    std::fs::read_to_string(&recorded)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| {
            panic!(
                "integration tests need moto: run scripts/test.sh, or scripts/moto.sh start \
                 (or set RDSLOGS_TEST_MOTO_URL)"
            )
        })
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn credentials(secret: &str, token: Option<&str>) -> Credentials {
    Credentials::new(
        ACCESS_KEY,
        secret,
        token.map(str::to_owned),
        None,
        "local-stack",
    )
}

/// An SDK config with static credentials and one endpoint for every service.
pub fn sdk_config(endpoint: &str, credentials: Credentials) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

/// How a test wants its stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Write the generated fleet into the simulator's folder.
    pub generated_fleet: bool,
    /// Largest page the simulator returns, so paging is exercised.
    pub page_size: usize,
    pub max_receive_count: u32,
    pub part_size: usize,
    /// Create the bucket, table and queues (off to test `rdslogs setup`).
    pub provision: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            generated_fleet: true,
            page_size: 4,
            max_receive_count: 3,
            part_size: shipper::config::MIN_PART_SIZE,
            provision: true,
        }
    }
}

pub struct LocalStack {
    pub moto_url: String,
    pub sim: RunningSim,
    pub fleet: TempDir,
    pub clients: AwsClients,
    pub lister_config: ListerConfig,
    pub worker_config: WorkerConfig,
    pub dlq_url: String,
}

impl LocalStack {
    pub async fn start(options: StackOptions) -> Self {
        let fleet = tempfile::tempdir().expect("fleet folder");
        if options.generated_fleet {
            generate(fleet.path(), &GenerateOptions::default()).expect("generate fleet");
        }
        let sim = rds_sim::start(SimConfig {
            root: fleet.path().to_path_buf(),
            credentials: AcceptedCredentials {
                access_key_id: ACCESS_KEY.into(),
                secret_access_key: SECRET_KEY.into(),
                session_token: Some(SESSION_TOKEN.into()),
            },
            iam: Default::default(),
            page_size: options.page_size,
            listen: "127.0.0.1:0".parse().expect("address"),
        })
        .await
        .expect("start simulated RDS");
        let moto_url = moto_url();
        let creds = credentials(SECRET_KEY, Some(SESSION_TOKEN));
        let mut clients = AwsClients::with_rds_config(
            &sdk_config(&moto_url, creds.clone()),
            &sdk_config(&sim.endpoint_url(), creds),
        )
        .await
        .expect("clients");
        // Same retry logic as production, shorter waits.
        clients.log_source = clients.log_source.with_retry(RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        });
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let queue_url = format!("{moto_url}/123456789012/work-{id}");
        let dlq_url = format!("{moto_url}/123456789012/dlq-{id}");
        let worker_config = WorkerConfig {
            bucket: format!("rdslogs-test-{id}"),
            prefix: "rds-logs".into(),
            layout: shipper::layout::KeyLayout::default(),
            state_table: format!("rdslogs-state-{id}"),
            part_size: options.part_size,
            parts_in_flight: 2,
            stale_upload_after: Duration::from_secs(900),
            batch: Default::default(),
        };
        let instances = fleet_instances(fleet.path()).join(",");
        let lister_config = RawSettings::from_lookup(|name| match name {
            config::INSTANCES => Some(instances.clone()),
            // An empty fleet folder (the test writes its own files): all of it.
            config::ALL_INSTANCES => Some(instances.is_empty().to_string()),
            config::STATE_TABLE => Some(worker_config.state_table.clone()),
            config::QUEUE_URL => Some(queue_url.clone()),
            _ => None,
        })
        .lister()
        .expect("lister settings");
        shipper::provision::ensure_bucket(&clients, &worker_config.bucket)
            .await
            .expect("bucket");
        shipper::provision::ensure_state_table(&clients, &worker_config.state_table)
            .await
            .expect("table");
        shipper::provision::ensure_queues(
            &clients,
            &queue_url,
            &dlq_url,
            options.max_receive_count,
        )
        .await
        .expect("queues");
        Self {
            moto_url,
            sim,
            fleet,
            clients,
            lister_config,
            worker_config,
            dlq_url,
        }
    }

    /// The bucket, table and queues this stack created (and deletes when
    /// dropped).
    pub fn resources(&self) -> StackResources {
        StackResources {
            moto_url: self.moto_url.clone(),
            bucket: self.worker_config.bucket.clone(),
            table: self.worker_config.state_table.clone(),
            queues: vec![self.queue_url().to_owned(), self.dlq_url.clone()],
        }
    }

    /// The environment a binary needs to run against this stack through the
    /// standard SDK settings and the `RDSLOGS_*` variables.
    pub fn binary_env(&self) -> Vec<(String, String)> {
        let pairs = [
            ("AWS_ENDPOINT_URL", self.moto_url.clone()),
            ("AWS_ENDPOINT_URL_RDS", self.sim.endpoint_url()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            (
                "RDSLOGS_INSTANCES",
                self.lister_config.selection.instances.join(","),
            ),
            ("RDSLOGS_BUCKET", self.worker_config.bucket.clone()),
            ("RDSLOGS_PREFIX", self.worker_config.prefix.clone()),
            (
                "RDSLOGS_STATE_TABLE",
                self.worker_config.state_table.clone(),
            ),
            ("RDSLOGS_QUEUE_URL", self.queue_url().to_owned()),
            ("RDSLOGS_DLQ_URL", self.dlq_url.clone()),
            (
                "RDSLOGS_PART_SIZE_MIB",
                (self.worker_config.part_size / (1024 * 1024)).to_string(),
            ),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    pub fn queue_url(&self) -> &str {
        &self.lister_config.queue_url
    }

    /// One lister cycle over every instance of the fleet folder.
    pub async fn list_once(&self) -> CycleReport {
        self.list_at(shipper::now_ms()).await
    }

    /// One lister cycle as if the clock said `now_ms` (tests that play a
    /// day of an instance's life in seconds set file times to match).
    pub async fn list_at(&self, now_ms: i64) -> CycleReport {
        self.clients
            .lister(&self.lister_config)
            .run_cycle(now_ms)
            .await
    }

    /// Drains the work queue with the worker, retrying failures at once.
    pub async fn drain(&self) -> Vec<RecordResult> {
        let mut results = Vec::new();
        let options = PollOptions {
            retry_delay: 0,
            ..PollOptions::default()
        };
        let worker = self.clients.worker(&self.worker_config);
        let queue = shipper::queue::SqsQueue::new(self.clients.sqs.clone(), self.queue_url());
        poll(&queue, &worker, &options, |r| results.push(r))
            .await
            .expect("drain the work queue");
        results
    }

    /// The key of a fleet file as it is on disk now (its date partition
    /// may come from its modification time).
    pub fn key(&self, instance: &str, file: &str) -> String {
        let last_written_ms = std::fs::metadata(self.source_path(instance, file))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        self.worker_config.layout.key(&LogFileVersion {
            instance: instance.to_owned(),
            file: file.to_owned(),
            version: FileVersion::new(0, last_written_ms),
            region: None,
            incarnation: None,
        })
    }

    pub fn source_path(&self, instance: &str, file: &str) -> PathBuf {
        self.fleet.path().join(instance).join(file)
    }

    /// Every (instance, file) of the simulated fleet.
    pub fn source_files(&self) -> Vec<(String, String)> {
        let fleet = rds_sim::Fleet::new(self.fleet.path());
        let mut out = Vec::new();
        for instance in &self.lister_config.selection.instances {
            for file in fleet.log_files(instance).expect("list fleet") {
                out.push((instance.clone(), file.name));
            }
        }
        out
    }

    /// The work message for a fleet file as it is on disk now.
    pub fn ship_request(&self, instance: &str, file: &str) -> String {
        let meta = std::fs::metadata(self.source_path(instance, file)).expect("source file");
        let mtime = meta
            .modified()
            .expect("mtime")
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after epoch");
        ShipRequest::new(&LogFileVersion {
            instance: instance.to_owned(),
            file: file.to_owned(),
            version: FileVersion::new(meta.len(), mtime.as_millis() as i64),
            region: None,
            incarnation: None,
        })
        .to_json()
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub async fn open_multipart_uploads(&self) -> usize {
        self.clients
            .s3
            .list_multipart_uploads()
            .bucket(&self.worker_config.bucket)
            .send()
            .await
            .expect("list multipart uploads")
            .uploads()
            .len()
    }

    /// What the state table holds for a file; panics when it holds nothing.
    pub async fn file_state(&self, instance: &str, file: &str) -> shipper::version::FileState {
        use shipper::state::FileStates;
        self.state_table()
            .get(instance, file)
            .await
            .expect("read the state table")
            .unwrap_or_else(|| panic!("no state for {instance}/{file}"))
    }

    pub fn state_table(&self) -> shipper::state::DynamoStateTable {
        shipper::state::DynamoStateTable::new(
            self.clients.dynamodb.clone(),
            &self.worker_config.state_table,
        )
    }

    pub fn source_bytes(&self, instance: &str, file: &str) -> Vec<u8> {
        std::fs::read(self.source_path(instance, file)).expect("source file")
    }

    /// The object's bytes, or `None` when there is no such object.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .clients
            .s3
            .get_object()
            .bucket(&self.worker_config.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(
            out.body
                .collect()
                .await
                .expect("object body")
                .into_bytes()
                .to_vec(),
        )
    }

    pub async fn object_keys(&self) -> Vec<String> {
        let out = self
            .clients
            .s3
            .list_objects_v2()
            .bucket(&self.worker_config.bucket)
            .send()
            .await
            .expect("list objects");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// Every body waiting in a queue (received and left to come back).
    pub async fn queue_bodies(&self, queue_url: &str) -> Vec<String> {
        let out = self
            .clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        out.messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect()
    }
}

fn fleet_instances(root: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// How many records ended as `SyncOutcome::Shipped`.
pub fn shipped_count(results: &[RecordResult]) -> usize {
    results
        .iter()
        .filter(|r| matches!(r.result, Ok(shipper::worker::SyncOutcome::Shipped { .. })))
        .count()
}

/// Writes a file into the simulated fleet with an explicit modification time.
pub fn write_log(path: &Path, bytes: &[u8], mtime_ms: i64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("log folder");
    }
    std::fs::write(path, bytes).expect("write log");
    set_mtime(path, mtime_ms);
}

pub fn set_mtime(path: &Path, mtime_ms: i64) {
    let time = std::time::UNIX_EPOCH + Duration::from_millis(mtime_ms as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(time))
        .expect("set mtime");
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.resources().delete_now();
    }
}
