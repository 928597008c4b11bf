//! How RDS reuses log file names, driven from tests: size rotation of a
//! chain (`f` -> `f.1` -> ... -> `f.keep`), rewrites in place, and a new
//! incarnation of an instance (new `DbiResourceId`, same file names).

use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fleet::{Fleet, LogFileInfo, mtime_ms};
use crate::resource_id;

/// The most rotated files RDS keeps (`SERVER_AUDIT_FILE_ROTATIONS` is 0-100).
pub const MAX_KEEP: u32 = 100;

/// One change at a time per process: the control API serves requests
/// concurrently, and two rotations interleaved would lose a file.
static CHANGING: Mutex<()> = Mutex::new(());

/// Bytes of a file in a control request: a JSON string (UTF-8) or an array
/// of byte values (for files that are not UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Contents {
    #[default]
    Empty,
    Text(String),
    Bytes(Vec<u8>),
}

impl Contents {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Contents::Empty => b"",
            Contents::Text(text) => text.as_bytes(),
            Contents::Bytes(bytes) => bytes,
        }
    }
}

/// `POST /_sim/rotate`.
#[derive(Debug, Clone, Deserialize)]
pub struct RotateRequest {
    pub instance: String,
    pub file: String,
    pub keep: u32,
    #[serde(default)]
    pub contents: Contents,
}

/// `POST /_sim/rewrite`.
#[derive(Debug, Clone, Deserialize)]
pub struct RewriteRequest {
    pub instance: String,
    pub file: String,
    #[serde(default)]
    pub contents: Contents,
    #[serde(default)]
    pub last_written_ms: Option<i64>,
}

/// A log file of a new incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewLogFile {
    pub name: String,
    #[serde(default)]
    pub contents: Contents,
    #[serde(default)]
    pub last_written_ms: Option<i64>,
}

/// `POST /_sim/switchover`.
#[derive(Debug, Clone, Deserialize)]
pub struct SwitchoverRequest {
    pub instance: String,
    /// The new `DbiResourceId`; derived from the next incarnation if absent.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// The new incarnation's log files, replacing all the old ones; the old
    /// files stay if absent.
    #[serde(default)]
    pub files: Option<Vec<NewLogFile>>,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotated {
    /// The file beyond the cap whose bytes are gone, if there was one.
    pub dropped: Option<String>,
    /// The chain after the rotation: the new file, then `.1`, `.2`, ...
    pub chain: Vec<LogFileInfo>,
}

impl Fleet {
    /// Rotates `file` as the audit plugin does at its size limit: drops
    /// `file.keep`, renames `file.N` to `file.N+1` and `file` to `file.1`
    /// (each keeps its last-written time), then starts `file` anew with
    /// `contents`, written now.
    pub fn rotate(
        &self,
        instance: &str,
        file: &str,
        keep: u32,
        contents: &[u8],
    ) -> io::Result<Rotated> {
        let _guard = CHANGING.lock().unwrap_or_else(|e| e.into_inner());
        if !(1..=MAX_KEEP).contains(&keep) {
            return Err(invalid(format!(
                "keep must be 1 to {MAX_KEEP} (0 means the file never rotates)"
            )));
        }
        let current = self.existing_file(instance, file)?;
        let numbered = |n: u32| self.log_file_path(instance, &format!("{file}.{n}"));
        let oldest = numbered(keep)?;
        let dropped = match std::fs::remove_file(&oldest) {
            Ok(()) => Some(format!("{file}.{keep}")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        for n in (1..keep).rev() {
            let from = numbered(n)?;
            if from.is_file() {
                std::fs::rename(&from, numbered(n + 1)?)?;
            }
        }
        std::fs::rename(&current, numbered(1)?)?;
        std::fs::write(&current, contents)?;
        let mut chain = vec![self.info(instance, file)?];
        for n in 1..=keep {
            if numbered(n)?.is_file() {
                chain.push(self.info(instance, &format!("{file}.{n}"))?);
            }
        }
        Ok(Rotated { dropped, chain })
    }

    /// Replaces the bytes of an existing file in place (shorter, same size
    /// or longer), last written at `last_written_ms` or now. A reused hourly
    /// name (`mysql-slowquery.log.N` the next day) is this with a newer time.
    pub fn rewrite(
        &self,
        instance: &str,
        file: &str,
        contents: &[u8],
        last_written_ms: Option<i64>,
    ) -> io::Result<LogFileInfo> {
        let _guard = CHANGING.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.existing_file(instance, file)?;
        write_file(&path, contents, last_written_ms)?;
        self.info(instance, file)
    }

    /// Gives the identifier to a new instance, as a Blue/Green switchover or
    /// a restore under the old name does: a new `DbiResourceId`
    /// (`resource_id`, or derived from the next incarnation) and, when
    /// `files` is given, those log files in place of all the old ones.
    /// Returns the new resource id.
    pub fn switchover(
        &self,
        instance: &str,
        resource_id: Option<&str>,
        files: Option<&[NewLogFile]>,
    ) -> io::Result<String> {
        let _guard = CHANGING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = resource_id {
            resource_id::validate(id)?;
        }
        let before = self
            .instance(instance)?
            .ok_or_else(|| not_found(format!("no instance {instance}")))?;
        if resource_id == Some(before.dbi_resource_id().as_str()) {
            return Err(invalid(format!(
                "{instance} already has resource id {}",
                before.dbi_resource_id()
            )));
        }
        if let Some(files) = files {
            let paths = files
                .iter()
                .map(|f| self.log_file_path(instance, &f.name))
                .collect::<io::Result<Vec<_>>>()?;
            let dir = self.instance_dir(instance)?;
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::create_dir_all(&dir)?;
            for (file, path) in files.iter().zip(paths) {
                write_file(&path, file.contents.as_bytes(), file.last_written_ms)?;
            }
        }
        let after = self.update_instance(instance, |meta| {
            meta.incarnation += 1;
            meta.resource_id = resource_id.map(str::to_owned);
        })?;
        Ok(after.dbi_resource_id())
    }

    fn existing_file(&self, instance: &str, file: &str) -> io::Result<std::path::PathBuf> {
        let path = self.log_file_path(instance, file)?;
        if path.is_file() {
            Ok(path)
        } else {
            Err(not_found(format!("no log file {file} on {instance}")))
        }
    }

    fn info(&self, instance: &str, file: &str) -> io::Result<LogFileInfo> {
        let meta = std::fs::metadata(self.log_file_path(instance, file)?)?;
        Ok(LogFileInfo {
            name: file.to_owned(),
            size: meta.len(),
            last_written_ms: mtime_ms(&meta),
        })
    }
}

/// The control endpoints this module answers: the path, the JSON body, and
/// the JSON answer or the error (`NotFound` and `InvalidInput` are the
/// caller's fault).
pub fn control(fleet: &Fleet, path: &str, body: &[u8]) -> Option<io::Result<serde_json::Value>> {
    let answer = match path {
        "/_sim/rotate" => parse::<RotateRequest>(body).and_then(|r| {
            let rotated = fleet.rotate(&r.instance, &r.file, r.keep, r.contents.as_bytes())?;
            Ok(serde_json::json!(rotated))
        }),
        "/_sim/rewrite" => parse::<RewriteRequest>(body).and_then(|r| {
            let info = fleet.rewrite(
                &r.instance,
                &r.file,
                r.contents.as_bytes(),
                r.last_written_ms,
            )?;
            Ok(serde_json::json!(info))
        }),
        "/_sim/switchover" => parse::<SwitchoverRequest>(body).and_then(|r| {
            let id = fleet.switchover(&r.instance, r.resource_id.as_deref(), r.files.as_deref())?;
            Ok(serde_json::json!({ "resource_id": id }))
        }),
        _ => return None,
    };
    Some(answer)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> io::Result<T> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("invalid request: {e}")))
}

fn write_file(path: &Path, contents: &[u8], last_written_ms: Option<i64>) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)?;
    if let Some(ms) = last_written_ms {
        let ms = u64::try_from(ms)
            .map_err(|_| invalid(format!("last_written_ms {ms} is before 1970")))?;
        std::fs::File::options()
            .write(true)
            .open(path)?
            .set_modified(UNIX_EPOCH + Duration::from_millis(ms))?;
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn not_found(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, message)
}

#[cfg(test)]
mod tests;
