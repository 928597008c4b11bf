//! Manual snapshots in the simulated RDS: `CreateDBSnapshot`,
//! `CreateDBClusterSnapshot` and their `Describe*` calls, kept in memory. A
//! new snapshot reads "creating" once, then "available".

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::fleet::{Fleet, InstanceMeta};
use crate::query::{ApiError, Params, Scope, tags_xml};
use crate::xml::element;

/// What was snapshotted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Cluster,
}

impl Kind {
    /// The element and parameter stem: `DBSnapshot` or `DBClusterSnapshot`.
    fn stem(self) -> &'static str {
        match self {
            Kind::Instance => "DBSnapshot",
            Kind::Cluster => "DBClusterSnapshot",
        }
    }

    fn source_param(self) -> &'static str {
        match self {
            Kind::Instance => "DBInstanceIdentifier",
            Kind::Cluster => "DBClusterIdentifier",
        }
    }

    fn not_found(self) -> &'static str {
        match self {
            Kind::Instance => "DBSnapshotNotFound",
            Kind::Cluster => "DBClusterSnapshotNotFoundFault",
        }
    }

    fn arn_kind(self) -> &'static str {
        match self {
            Kind::Instance => "snapshot",
            Kind::Cluster => "cluster-snapshot",
        }
    }
}

#[derive(Debug, Clone)]
struct Snapshot {
    kind: Kind,
    id: String,
    source: String,
    engine: String,
    created_ms: i64,
    tags: BTreeMap<String, String>,
    /// Describe calls answered so far; the first one still says "creating".
    looks: u32,
}

/// The snapshots made since the simulator started.
#[derive(Debug, Default)]
pub struct Snapshots {
    taken: Mutex<Vec<Snapshot>>,
}

/// The snapshot actions this module answers.
pub fn handles(action: &str) -> bool {
    matches!(
        action,
        "CreateDBSnapshot"
            | "DescribeDBSnapshots"
            | "CreateDBClusterSnapshot"
            | "DescribeDBClusterSnapshots"
    )
}

impl Snapshots {
    pub fn run(
        &self,
        fleet: &Fleet,
        params: &Params,
        scope: Scope<'_>,
    ) -> Result<String, ApiError> {
        match params.get("Action").map(String::as_str).unwrap_or("") {
            "CreateDBSnapshot" => self.create(fleet, params, scope, Kind::Instance),
            "CreateDBClusterSnapshot" => self.create(fleet, params, scope, Kind::Cluster),
            "DescribeDBSnapshots" => self.describe(params, scope, Kind::Instance),
            "DescribeDBClusterSnapshots" => self.describe(params, scope, Kind::Cluster),
            other => Err(ApiError::new(
                400,
                "InvalidAction",
                format!("{other} is not a snapshot action"),
            )),
        }
    }

    fn create(
        &self,
        fleet: &Fleet,
        params: &Params,
        scope: Scope<'_>,
        kind: Kind,
    ) -> Result<String, ApiError> {
        let required = |name: &str| {
            params.get(name).cloned().ok_or_else(|| {
                ApiError::new(400, "MissingParameter", format!("{name} is required"))
            })
        };
        let source = required(kind.source_param())?;
        let id = required(&format!("{}Identifier", kind.stem()))?;
        validate_snapshot_id(&id)?;
        let engine = match kind {
            Kind::Instance => instance_to_snapshot(fleet, &source)?.engine,
            Kind::Cluster => cluster_engine(fleet, &source)?,
        };
        let mut taken = self.taken.lock().expect("snapshots lock");
        if taken.iter().any(|s| s.kind == kind && s.id == id) {
            let code = match kind {
                Kind::Instance => "DBSnapshotAlreadyExists",
                Kind::Cluster => "DBClusterSnapshotAlreadyExistsFault",
            };
            return Err(ApiError::new(
                400,
                code,
                format!("Snapshot {id} already exists."),
            ));
        }
        let snapshot = Snapshot {
            kind,
            id,
            source,
            engine,
            created_ms: now_ms(),
            tags: tags(params),
            looks: 0,
        };
        let mut out = String::new();
        snapshot_xml(&mut out, &snapshot, "creating", scope);
        taken.push(snapshot);
        Ok(out)
    }

    fn describe(&self, params: &Params, scope: Scope<'_>, kind: Kind) -> Result<String, ApiError> {
        let wanted_id = params.get(&format!("{}Identifier", kind.stem()));
        let wanted_source = params.get(kind.source_param());
        let mut taken = self.taken.lock().expect("snapshots lock");
        let mut out = format!("<{}s>", kind.stem());
        let mut found = 0;
        for snapshot in taken.iter_mut().filter(|s| {
            s.kind == kind
                && wanted_id.is_none_or(|id| *id == s.id)
                && wanted_source.is_none_or(|source| *source == s.source)
        }) {
            let status = if snapshot.looks == 0 {
                "creating"
            } else {
                "available"
            };
            snapshot.looks += 1;
            snapshot_xml(&mut out, snapshot, status, scope);
            found += 1;
        }
        out.push_str(&format!("</{}s>", kind.stem()));
        match wanted_id {
            Some(id) if found == 0 => Err(ApiError::new(
                404,
                kind.not_found(),
                format!("{} {id} not found.", kind.stem()),
            )),
            _ => Ok(out),
        }
    }
}

/// The instance, if RDS would snapshot it on its own: it exists, is
/// available, and is not an Aurora cluster member (those are snapshotted
/// as a cluster).
fn instance_to_snapshot(fleet: &Fleet, id: &str) -> Result<InstanceMeta, ApiError> {
    let meta = fleet
        .instance(id)?
        .ok_or_else(|| ApiError::instance_not_found(id))?;
    if meta.cluster.is_some() {
        return Err(ApiError::new(
            400,
            "InvalidParameterValue",
            "The specified instance is a member of a cluster and a snapshot cannot be created \
             directly. Please use the CreateDBClusterSnapshot API instead.",
        ));
    }
    if meta.status != "available" {
        return Err(ApiError::not_available(id, &meta.status));
    }
    Ok(meta)
}

fn cluster_engine(fleet: &Fleet, cluster: &str) -> Result<String, ApiError> {
    fleet
        .instances()?
        .into_iter()
        .find(|m| m.cluster.as_deref() == Some(cluster))
        .map(|m| m.engine)
        .ok_or_else(|| {
            ApiError::new(
                404,
                "DBClusterNotFoundFault",
                format!("DBCluster {cluster} not found."),
            )
        })
}

/// RDS's rule: 1 to 255 letters, digits and hyphens, a letter first, no
/// two hyphens in a row, no hyphen last.
fn validate_snapshot_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=255).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.contains("--")
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "InvalidParameterValue",
            format!("{id} is not a valid identifier."),
        ))
    }
}

/// `Tags.Tag.N.Key` / `Tags.Tag.N.Value` pairs.
fn tags(params: &Params) -> BTreeMap<String, String> {
    (1..)
        .map_while(|n| {
            let key = params.get(&format!("Tags.Tag.{n}.Key"))?;
            let value = params
                .get(&format!("Tags.Tag.{n}.Value"))
                .cloned()
                .unwrap_or_default();
            Some((key.clone(), value))
        })
        .collect()
}

fn snapshot_xml(out: &mut String, s: &Snapshot, status: &str, scope: Scope<'_>) {
    let stem = s.kind.stem();
    out.push_str(&format!("<{stem}>"));
    element(out, &format!("{stem}Identifier"), &s.id);
    element(out, s.kind.source_param(), &s.source);
    element(
        out,
        &format!("{stem}Arn"),
        &scope.arn(s.kind.arn_kind(), &s.id),
    );
    element(out, "SnapshotType", "manual");
    element(out, "Status", status);
    element(out, "Engine", &s.engine);
    element(out, "SnapshotCreateTime", &iso8601(s.created_ms));
    tags_xml(out, &s.tags);
    out.push_str(&format!("</{stem}>"));
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn iso8601(ms: i64) -> String {
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_follow_the_rds_rule() {
        for good in ["a", "rdslogs-pg-orders-20261123-033000", &"a".repeat(255)] {
            assert!(validate_snapshot_id(good).is_ok(), "{good}");
        }
        for bad in ["", "1abc", "a--b", "a-", "a_b", &"a".repeat(256)] {
            assert!(validate_snapshot_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_read_in_order_until_the_first_gap() {
        let params: Params = [
            ("Tags.Tag.1.Key", "created-by"),
            ("Tags.Tag.1.Value", "rdslogs"),
            ("Tags.Tag.2.Key", "ticket"),
            ("Tags.Tag.4.Key", "ignored"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let tags = tags(&params);
        assert_eq!(tags.len(), 2);
        assert_eq!(tags["created-by"], "rdslogs");
        assert_eq!(tags["ticket"], "");
    }
}
