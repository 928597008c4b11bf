//! In-memory stand-ins for doctor's unit tests: an account (table, queues,
//! bucket, stack, roles and their allowed actions), a fleet and its files.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bytes::Bytes;

use super::{
    BucketProbe, Decision, KeyFact, Probe, QueueFacts, QueueInfo, RoleSimulator, Simulation,
    StackResource, TableFacts, TableInfo, TtlFacts,
};
use crate::error::{AwsError, DownloadError, Error, Result};
use crate::fleet::DbInstance;
use crate::rds::{ListedFile, LogCatalog, LogSource, LogStream};
use crate::version::FileVersion;

pub const ACCOUNT: &str = "123456789012";
pub const TABLE: &str = "rdslogs-state";
pub const QUEUE_URL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/rdslogs-work";
pub const DLQ_URL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/rdslogs-dlq";
pub const DLQ_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:rdslogs-dlq";
pub const BUCKET: &str = "rdslogs-bucket";
pub const STACK: &str = "rdslogs";

pub fn denied() -> AwsError {
    AwsError::from_code("AccessDenied", "not authorized")
}

#[derive(Debug)]
pub struct MemoryAccount {
    pub tables: HashMap<String, TableFacts>,
    pub queues: HashMap<String, QueueFacts>,
    pub buckets: HashSet<String>,
    /// A missing key answers 403, as S3 does without s3:ListBucket.
    pub missing_keys_denied: bool,
    pub stacks: HashMap<String, Vec<StackResource>>,
    /// Role name -> ARN.
    pub roles: HashMap<String, String>,
    /// Actions no role is allowed.
    pub withheld: HashSet<String>,
    /// Every simulation asked for.
    pub simulations: Mutex<Vec<Simulation>>,
    /// SimulatePrincipalPolicy answers this error.
    pub simulator_error: Option<AwsError>,
}

impl MemoryAccount {
    /// An account where everything is as the stack creates it.
    pub fn healthy() -> Self {
        let key = |name: &str, key_type: &str| KeyFact {
            name: name.into(),
            key_type: key_type.into(),
            attribute_type: Some("S".into()),
        };
        let table = TableFacts {
            status: "ACTIVE".into(),
            keys: vec![key("instance", "HASH"), key("file", "RANGE")],
            ttl: Ok(Some(TtlFacts {
                attribute: Some("expires_at".into()),
                status: "ENABLED".into(),
            })),
        };
        let redrive = format!(r#"{{"deadLetterTargetArn":"{DLQ_ARN}","maxReceiveCount":5}}"#);
        let roles = ["ListerRole", "WorkerRole"];
        Self {
            tables: HashMap::from([(TABLE.to_owned(), table)]),
            queues: HashMap::from([
                (
                    QUEUE_URL.to_owned(),
                    QueueFacts {
                        arn: Some("arn:aws:sqs:eu-west-1:123456789012:rdslogs-work".into()),
                        redrive_policy: Some(redrive),
                    },
                ),
                (
                    DLQ_URL.to_owned(),
                    QueueFacts {
                        arn: Some(DLQ_ARN.into()),
                        redrive_policy: None,
                    },
                ),
            ]),
            buckets: HashSet::from([BUCKET.to_owned()]),
            missing_keys_denied: false,
            stacks: HashMap::from([(
                STACK.to_owned(),
                roles
                    .iter()
                    .map(|logical| StackResource {
                        logical_id: (*logical).into(),
                        physical_id: format!("rdslogs-{logical}-ABC"),
                    })
                    .collect(),
            )]),
            roles: roles
                .iter()
                .map(|logical| {
                    let name = format!("rdslogs-{logical}-ABC");
                    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{name}");
                    (name, arn)
                })
                .collect(),
            withheld: HashSet::new(),
            simulations: Mutex::new(Vec::new()),
            simulator_error: None,
        }
    }
}

impl TableInfo for MemoryAccount {
    async fn table(&self, name: &str) -> Result<Option<TableFacts>, AwsError> {
        Ok(self.tables.get(name).cloned())
    }
}

impl QueueInfo for MemoryAccount {
    async fn queue(&self, url: &str) -> Result<Option<QueueFacts>, AwsError> {
        Ok(self.queues.get(url).cloned())
    }
}

impl BucketProbe for MemoryAccount {
    async fn head_bucket(&self, bucket: &str) -> Probe {
        if self.buckets.contains(bucket) {
            Probe::Found
        } else {
            Probe::Missing
        }
    }

    async fn head_object(&self, bucket: &str, _key: &str) -> Probe {
        match (self.buckets.contains(bucket), self.missing_keys_denied) {
            (true, true) => Probe::Denied,
            _ => Probe::Missing,
        }
    }
}

impl RoleSimulator for MemoryAccount {
    async fn stack_resources(&self, stack: &str) -> Result<Option<Vec<StackResource>>, AwsError> {
        Ok(self.stacks.get(stack).cloned())
    }

    async fn role_arn(&self, role_name: &str) -> Result<String, AwsError> {
        self.roles.get(role_name).cloned().ok_or_else(|| {
            AwsError::from_code("NoSuchEntity", &format!("role {role_name} not found"))
        })
    }

    async fn simulate(&self, simulation: &Simulation) -> Result<Vec<(String, Decision)>, AwsError> {
        if let Some(e) = &self.simulator_error {
            return Err(e.clone());
        }
        self.simulations.lock().unwrap().push(simulation.clone());
        Ok(simulation
            .actions
            .iter()
            .map(|action| {
                let decision = if self.withheld.contains(action) {
                    Decision::ImplicitDeny
                } else {
                    Decision::Allowed
                };
                (action.clone(), decision)
            })
            .collect())
    }
}

/// A region's instances and their files; an instance without an entry in
/// `files` fails to list as denied.
#[derive(Debug, Default)]
pub struct MemoryFleet {
    pub instances: Vec<DbInstance>,
    pub files: HashMap<String, Vec<ListedFile>>,
}

impl MemoryFleet {
    pub fn with(mut self, id: &str, status: &str, files: &[(&str, u64)]) -> Self {
        self.instances.push(DbInstance {
            id: id.into(),
            engine: "postgres".into(),
            status: status.into(),
            ..DbInstance::default()
        });
        self.files.insert(
            id.into(),
            files
                .iter()
                .map(|(name, size)| ListedFile {
                    name: (*name).into(),
                    version: FileVersion::new(*size, 1_000),
                })
                .collect(),
        );
        self
    }
}

impl LogCatalog for MemoryFleet {
    async fn instances(&self) -> Result<Vec<DbInstance>> {
        Ok(self.instances.clone())
    }

    async fn log_files(&self, instance: &str, _since: Option<i64>) -> Result<Vec<ListedFile>> {
        self.files
            .get(instance)
            .cloned()
            .ok_or_else(|| Error::Listing {
                instance: instance.into(),
                source: denied(),
            })
    }
}

/// Serves any file as `size` bytes of `x`, or refuses every download.
#[derive(Debug, Default)]
pub struct MemorySource {
    pub refuse: bool,
    pub opened: Mutex<Vec<String>>,
}

impl LogSource for MemorySource {
    fn incarnation(&self, _region: Option<&str>, _instance: &str) -> crate::rds::IncarnationLookup {
        crate::rds::known_incarnation(None)
    }

    async fn open(&self, _region: Option<&str>, instance: &str, file: &str) -> Result<LogStream> {
        self.opened
            .lock()
            .unwrap()
            .push(format!("{instance}/{file}"));
        if self.refuse {
            return Err(Error::Download {
                instance: instance.into(),
                file: file.into(),
                source: DownloadError::Status {
                    status: 403,
                    code: "AccessDenied".into(),
                    message: "not authorized".into(),
                },
            });
        }
        let chunk: Result<Bytes> = Ok(Bytes::from_static(b"line\n"));
        Ok(Box::pin(futures_util::stream::iter(vec![chunk])))
    }
}
