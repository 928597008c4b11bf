//! The simulated fleet: instances are folders under a root, log files are the
//! files inside them; optional `fleet.json` carries engine, status, tags,
//! cluster and resource id.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::resource_id;

/// File at the root of a fleet folder that describes the instances.
pub const FLEET_FILE: &str = "fleet.json";

/// What `DescribeDBInstances` says about one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMeta {
    pub id: String,
    #[serde(default = "default_engine")]
    pub engine: String,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub cluster: Option<String>,
    /// `DbiResourceId`; derived from `id` and `incarnation` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// How many times the identifier has passed to a new instance (a
    /// switchover, a restore under the same name).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub incarnation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_engine() -> String {
    "postgres".to_owned()
}

fn default_status() -> String {
    "available".to_owned()
}

impl InstanceMeta {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            engine: default_engine(),
            status: default_status(),
            tags: BTreeMap::new(),
            cluster: None,
            resource_id: None,
            incarnation: 0,
        }
    }

    /// What `DescribeDBInstances` answers as `DbiResourceId`.
    pub fn dbi_resource_id(&self) -> String {
        self.resource_id
            .clone()
            .unwrap_or_else(|| resource_id::derive(&self.id, self.incarnation))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FleetFile {
    pub instances: Vec<InstanceMeta>,
}

/// One log file as `DescribeDBLogFiles` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogFileInfo {
    pub name: String,
    pub size: u64,
    pub last_written_ms: i64,
}

/// A fleet folder on disk.
#[derive(Debug, Clone)]
pub struct Fleet {
    root: PathBuf,
}

impl Fleet {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All instances: those described in `fleet.json` plus any other folder,
    /// sorted by identifier so that paging is stable.
    pub fn instances(&self) -> io::Result<Vec<InstanceMeta>> {
        let mut by_id: BTreeMap<String, InstanceMeta> = BTreeMap::new();
        for meta in self.fleet_file()?.instances {
            by_id.insert(meta.id.clone(), meta);
        }
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                let id = entry.file_name().to_string_lossy().into_owned();
                by_id
                    .entry(id.clone())
                    .or_insert_with(|| InstanceMeta::new(&id));
            }
        }
        Ok(by_id.into_values().collect())
    }

    /// `fleet.json` as written, or an empty one.
    fn fleet_file(&self) -> io::Result<FleetFile> {
        let path = self.root.join(FLEET_FILE);
        if !path.exists() {
            return Ok(FleetFile::default());
        }
        let parsed: FleetFile = serde_json::from_slice(&std::fs::read(&path)?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        for meta in &parsed.instances {
            if let Some(id) = &meta.resource_id {
                resource_id::validate(id)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
        }
        Ok(parsed)
    }

    /// Changes one instance's entry in `fleet.json` (adding an entry for an
    /// instance that is only a folder) and replaces the file in one rename,
    /// so a request served meanwhile reads the old or the new fleet.
    pub(crate) fn update_instance(
        &self,
        id: &str,
        change: impl FnOnce(&mut InstanceMeta),
    ) -> io::Result<InstanceMeta> {
        let mut file = self.fleet_file()?;
        let index = match file.instances.iter().position(|m| m.id == id) {
            Some(index) => index,
            None if self.instance_dir(id)?.is_dir() => {
                file.instances.push(InstanceMeta::new(id));
                file.instances.len() - 1
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no instance {id}"),
                ));
            }
        };
        change(&mut file.instances[index]);
        let updated = file.instances[index].clone();
        let tmp = self.root.join(format!(".{FLEET_FILE}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&file).map_err(io::Error::other)?,
        )?;
        std::fs::rename(&tmp, self.root.join(FLEET_FILE))?;
        Ok(updated)
    }

    pub fn instance(&self, id: &str) -> io::Result<Option<InstanceMeta>> {
        Ok(self.instances()?.into_iter().find(|m| m.id == id))
    }

    /// Every log file of an instance, names relative to its folder with `/`,
    /// sorted by name.
    pub fn log_files(&self, instance: &str) -> io::Result<Vec<LogFileInfo>> {
        let dir = self.instance_dir(instance)?;
        let mut files = Vec::new();
        if dir.is_dir() {
            collect_files(&dir, "", &mut files)?;
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// The path of one log file, refusing names that would leave the folder.
    pub fn log_file_path(&self, instance: &str, name: &str) -> io::Result<PathBuf> {
        let dir = self.instance_dir(instance)?;
        let relative = Path::new(name);
        if name.is_empty()
            || !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("log file name {name:?} is not a plain relative path"),
            ));
        }
        Ok(dir.join(relative))
    }

    pub(crate) fn instance_dir(&self, instance: &str) -> io::Result<PathBuf> {
        if instance.is_empty() || instance.contains(['/', '\\']) || instance.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("instance identifier {instance:?} is not valid"),
            ));
        }
        Ok(self.root.join(instance))
    }
}

fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<LogFileInfo>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = entry.metadata()?;
        if meta.is_dir() {
            collect_files(&entry.path(), &relative, out)?;
        } else if meta.is_file() {
            out.push(LogFileInfo {
                name: relative,
                size: meta.len(),
                last_written_ms: mtime_ms(&meta),
            });
        }
    }
    Ok(())
}

pub(crate) fn mtime_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_files_with_slash_names_and_refuses_escapes() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("db-1/error")).unwrap();
        std::fs::write(dir.join("db-1/error/postgresql.log.2026-11-20-13"), b"abc").unwrap();
        let fleet = Fleet::new(&dir);
        let files = fleet.log_files("db-1").unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "error/postgresql.log.2026-11-20-13");
        assert_eq!(files[0].size, 3);
        assert!(fleet.log_file_path("db-1", "../db-2/x").is_err());
        assert!(fleet.log_file_path("db-1", "/etc/passwd").is_err());
        assert!(fleet.log_file_path("..", "x").is_err());
        assert_eq!(fleet.instances().unwrap()[0].id, "db-1");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn fleet_json_may_set_the_resource_id_and_a_malformed_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = Fleet::new(dir.path());
        let write = |resource_id: &str| {
            let json =
                format!(r#"{{"instances": [{{"id": "db-1", "resource_id": "{resource_id}"}}]}}"#);
            std::fs::write(dir.path().join(FLEET_FILE), json).unwrap();
        };
        write("db-ABCDEFGHIJKLMNOPQRSTUVWXY0");
        let meta = fleet.instance("db-1").unwrap().unwrap();
        assert_eq!(meta.dbi_resource_id(), "db-ABCDEFGHIJKLMNOPQRSTUVWXY0");
        write("db-lowercase");
        let refused = fleet.instances().unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "rds-sim-fleet-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
