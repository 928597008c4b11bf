//! The RDS Query API actions the pipeline calls: `DescribeDBInstances`,
//! `DescribeDBClusters`, `ListTagsForResource` and `DescribeDBLogFiles`.

use std::collections::{BTreeMap, HashMap};

use crate::fleet::{Fleet, InstanceMeta};
use crate::xml::element;

/// A failed action: HTTP status, AWS error code, message.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl ApiError {
    pub fn instance_not_found(id: &str) -> Self {
        ApiError::new(
            404,
            "DBInstanceNotFound",
            format!("DBInstance {id} not found."),
        )
    }

    pub fn not_available(id: &str, status: &str) -> Self {
        ApiError::new(
            400,
            "InvalidDBInstanceState",
            format!("DBInstance {id} is not in available state (status: {status})."),
        )
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::new(500, "InternalFailure", e.to_string())
    }
}

/// The account the simulator answers for when none is configured.
pub const ACCOUNT: &str = "123456789012";

/// Where a request is served: the region it was signed for, and the account.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub account: &'a str,
}

impl Scope<'_> {
    /// `arn:aws:rds:<region>:<account>:<kind>:<id>`.
    pub fn arn(&self, kind: &str, id: &str) -> String {
        format!("arn:aws:rds:{}:{}:{kind}:{id}", self.region, self.account)
    }
}

pub type Params = HashMap<String, String>;

/// Form parameters of a query request.
pub fn parse_params(body: &[u8]) -> Params {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Runs one action and returns the inner result XML.
pub fn run(
    fleet: &Fleet,
    params: &Params,
    scope: Scope<'_>,
    page_size: usize,
) -> Result<String, ApiError> {
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    match action {
        "DescribeDBInstances" => describe_instances(fleet, params, scope, page_size),
        "DescribeDBClusters" => describe_clusters(fleet, params, scope),
        "ListTagsForResource" => list_tags(fleet, params),
        "DescribeDBLogFiles" => describe_log_files(fleet, params, page_size),
        other => Err(ApiError::new(
            400,
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// `MaxRecords` (20..=100 in AWS; any positive number here, capped by the
/// configured page size) and `Marker` (an opaque offset).
fn page_bounds(params: &Params, page_size: usize) -> Result<(usize, usize), ApiError> {
    let start = match params.get("Marker") {
        Some(m) if !m.is_empty() => m
            .parse::<usize>()
            .map_err(|_| ApiError::new(400, "InvalidParameterValue", "Marker is not valid"))?,
        _ => 0,
    };
    let requested = match params.get("MaxRecords") {
        Some(n) => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::new(400, "InvalidParameterValue", "MaxRecords is not valid")
        })?,
        None => 100,
    };
    Ok((start, requested.min(page_size.max(1))))
}

fn marker(out: &mut String, next: usize, total: usize) {
    if next < total {
        element(out, "Marker", &next.to_string());
    }
}

pub(crate) fn tags_xml(out: &mut String, tags: &BTreeMap<String, String>) {
    out.push_str("<TagList>");
    for (k, v) in tags {
        out.push_str("<Tag>");
        element(out, "Key", k);
        element(out, "Value", v);
        out.push_str("</Tag>");
    }
    out.push_str("</TagList>");
}

/// `Filters.Filter.N.Name` / `Filters.Filter.N.Values.Value.M` pairs.
fn filters(params: &Params) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for n in 1.. {
        let Some(name) = params.get(&format!("Filters.Filter.{n}.Name")) else {
            break;
        };
        let values = (1..)
            .map_while(|m| {
                params
                    .get(&format!("Filters.Filter.{n}.Values.Value.{m}"))
                    .cloned()
            })
            .collect();
        out.push((name.clone(), values));
    }
    out
}

fn instance_matches(
    meta: &InstanceMeta,
    filters: &[(String, Vec<String>)],
    scope: Scope<'_>,
) -> bool {
    filters.iter().all(|(name, values)| match name.as_str() {
        "db-instance-id" => values
            .iter()
            .any(|v| *v == meta.id || *v == scope.arn("db", &meta.id)),
        "engine" => values.contains(&meta.engine),
        "db-cluster-id" => meta.cluster.as_ref().is_some_and(|c| values.contains(c)),
        _ => true,
    })
}

fn describe_instances(
    fleet: &Fleet,
    params: &Params,
    scope: Scope<'_>,
    page_size: usize,
) -> Result<String, ApiError> {
    let filters = filters(params);
    let mut instances: Vec<InstanceMeta> = fleet
        .instances()?
        .into_iter()
        .filter(|m| instance_matches(m, &filters, scope))
        .collect();
    if let Some(id) = params.get("DBInstanceIdentifier") {
        instances.retain(|m| &m.id == id);
        if instances.is_empty() {
            return Err(ApiError::instance_not_found(id));
        }
    }
    let (start, size) = page_bounds(params, page_size)?;
    let mut out = String::from("<DBInstances>");
    for meta in instances.iter().skip(start).take(size) {
        out.push_str("<DBInstance>");
        element(&mut out, "DBInstanceIdentifier", &meta.id);
        element(&mut out, "DBInstanceArn", &scope.arn("db", &meta.id));
        element(&mut out, "DbiResourceId", &meta.dbi_resource_id());
        element(&mut out, "Engine", &meta.engine);
        element(&mut out, "DBInstanceStatus", &meta.status);
        if let Some(cluster) = &meta.cluster {
            element(&mut out, "DBClusterIdentifier", cluster);
        }
        tags_xml(&mut out, &meta.tags);
        out.push_str("</DBInstance>");
    }
    out.push_str("</DBInstances>");
    marker(&mut out, start + size, instances.len());
    Ok(out)
}

fn describe_clusters(fleet: &Fleet, params: &Params, scope: Scope<'_>) -> Result<String, ApiError> {
    let mut clusters: BTreeMap<String, Vec<InstanceMeta>> = BTreeMap::new();
    for meta in fleet.instances()? {
        if let Some(cluster) = &meta.cluster {
            clusters
                .entry(cluster.clone())
                .or_default()
                .push(meta.clone());
        }
    }
    if let Some(id) = params.get("DBClusterIdentifier") {
        clusters.retain(|c, _| c == id);
        if clusters.is_empty() {
            return Err(ApiError::new(
                404,
                "DBClusterNotFoundFault",
                format!("DBCluster {id} not found."),
            ));
        }
    }
    let mut out = String::from("<DBClusters>");
    for (cluster, members) in &clusters {
        out.push_str("<DBCluster>");
        element(&mut out, "DBClusterIdentifier", cluster);
        element(&mut out, "DBClusterArn", &scope.arn("cluster", cluster));
        element(&mut out, "Engine", &members[0].engine);
        out.push_str("<DBClusterMembers>");
        for (i, member) in members.iter().enumerate() {
            out.push_str("<DBClusterMember>");
            element(&mut out, "DBInstanceIdentifier", &member.id);
            element(
                &mut out,
                "IsClusterWriter",
                if i == 0 { "true" } else { "false" },
            );
            out.push_str("</DBClusterMember>");
        }
        out.push_str("</DBClusterMembers></DBCluster>");
    }
    out.push_str("</DBClusters>");
    Ok(out)
}

fn list_tags(fleet: &Fleet, params: &Params) -> Result<String, ApiError> {
    let name = params.get("ResourceName").cloned().unwrap_or_default();
    let id = name.rsplit(':').next().unwrap_or_default();
    let meta = fleet
        .instance(id)?
        .ok_or_else(|| ApiError::instance_not_found(id))?;
    let mut out = String::new();
    tags_xml(&mut out, &meta.tags);
    Ok(out)
}

fn describe_log_files(
    fleet: &Fleet,
    params: &Params,
    page_size: usize,
) -> Result<String, ApiError> {
    let id = params.get("DBInstanceIdentifier").ok_or_else(|| {
        ApiError::new(400, "MissingParameter", "DBInstanceIdentifier is required")
    })?;
    let meta = fleet
        .instance(id)?
        .ok_or_else(|| ApiError::instance_not_found(id))?;
    if meta.status != "available" {
        return Err(ApiError::not_available(id, &meta.status));
    }
    let contains = params.get("FilenameContains");
    let since = parse_number(params, "FileLastWritten")?;
    let min_size = parse_number(params, "FileSize")?;
    let files: Vec<_> = fleet
        .log_files(id)?
        .into_iter()
        .filter(|f| contains.is_none_or(|c| f.name.contains(c.as_str())))
        .filter(|f| since.is_none_or(|t| f.last_written_ms >= t))
        .filter(|f| min_size.is_none_or(|s| f.size as i64 >= s))
        .collect();
    let (start, size) = page_bounds(params, page_size)?;
    let mut out = String::from("<DescribeDBLogFiles>");
    for file in files.iter().skip(start).take(size) {
        out.push_str("<DescribeDBLogFilesDetails>");
        element(&mut out, "LogFileName", &file.name);
        element(&mut out, "LastWritten", &file.last_written_ms.to_string());
        element(&mut out, "Size", &file.size.to_string());
        out.push_str("</DescribeDBLogFilesDetails>");
    }
    out.push_str("</DescribeDBLogFiles>");
    marker(&mut out, start + size, files.len());
    Ok(out)
}

fn parse_number(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::new(
                    400,
                    "InvalidParameterValue",
                    format!("{name} is not a number"),
                )
            })
        })
        .transpose()
}
