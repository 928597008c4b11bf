//! Writes a realistic simulated fleet: PostgreSQL and MySQL log files with
//! multibyte text, invalid UTF-8, empty files and awkward names.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use crate::fleet::{FLEET_FILE, FleetFile, InstanceMeta};

/// What to generate beyond the fixed set of files.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Size of one extra large PostgreSQL log on the first instance; 0 for none.
    pub large_file_bytes: u64,
}

/// One generated file, relative to its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub instance: String,
    pub name: String,
}

pub const POSTGRES_INSTANCE: &str = "pg-orders";
pub const MYSQL_INSTANCE: &str = "mysql-billing";
pub const LARGE_FILE: &str = "error/postgresql.log.2026-11-20-16";

fn pg_line(n: u64, seed: &mut u64) -> String {
    let pid = 1000 + xorshift(seed) % 9000;
    let ms = xorshift(seed) % 5000;
    format!(
        "2026-11-20 13:{:02}:{:02} UTC:10.0.1.{}(5432):app@orders:[{pid}]:LOG:  duration: {}.{:03} ms  statement: SELECT * FROM orders WHERE id = {n};\n",
        (n / 60) % 60,
        n % 60,
        n % 250,
        ms / 1000,
        ms % 1000
    )
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

fn pg_log(lines: u64, seed: u64) -> Vec<u8> {
    let mut seed = seed | 1;
    (0..lines)
        .flat_map(|n| pg_line(n, &mut seed).into_bytes())
        .collect()
}

fn write(
    root: &Path,
    instance: &str,
    name: &str,
    bytes: &[u8],
    out: &mut Vec<GeneratedFile>,
) -> io::Result<()> {
    let path = root.join(instance).join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)?;
    out.push(GeneratedFile {
        instance: instance.to_owned(),
        name: name.to_owned(),
    });
    Ok(())
}

/// Writes `size` bytes of PostgreSQL-style lines without holding them in memory.
pub fn write_large_log(path: &Path, size: u64) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let (mut written, mut n) = (0u64, 0u64);
    while written < size {
        let line = pg_line(n, &mut seed);
        let take = (size - written).min(line.len() as u64) as usize;
        file.write_all(&line.as_bytes()[..take])?;
        written += take as u64;
        n += 1;
    }
    file.flush()
}

/// Generates the fleet under `root` and returns every file written.
pub fn generate(root: &Path, options: &GenerateOptions) -> io::Result<Vec<GeneratedFile>> {
    std::fs::create_dir_all(root)?;
    let mut files = Vec::new();
    let pg = POSTGRES_INSTANCE;
    write(
        root,
        pg,
        "error/postgresql.log.2026-11-20-12",
        &pg_log(200, 1),
        &mut files,
    )?;
    write(
        root,
        pg,
        "error/postgresql.log.2026-11-20-13",
        &pg_log(50, 2),
        &mut files,
    )?;
    let csv = "2026-11-20 13:00:01.123 UTC,\"app\",\"orders\",4242,\"10.0.1.7:5432\",1,\"SELECT\",LOG,00000,\"duration: 1.5 ms\"\n".repeat(40);
    write(
        root,
        pg,
        "error/postgresql.log.2026-11-20-13.csv",
        csv.as_bytes(),
        &mut files,
    )?;
    let multibyte = "2026-11-20 14:00:00 UTC::@:[77]:LOG:  接続を受け付けました ユーザー=注文 🚀🐘 café naïve Ω≈ç√\n".repeat(30);
    write(
        root,
        pg,
        "error/postgresql.log.2026-11-20-14",
        multibyte.as_bytes(),
        &mut files,
    )?;
    write(
        root,
        pg,
        "error/postgresql.log.2026-11-20-15",
        b"",
        &mut files,
    )?;
    let mut invalid =
        b"2026-11-20 15:00:00 UTC::@:[9]:ERROR:  invalid byte sequence for encoding \"UTF8\": "
            .to_vec();
    invalid.extend_from_slice(&[
        0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x82, 0x00, 0x0d, b'\n',
    ]);
    invalid.extend_from_slice(&(0u8..=255).collect::<Vec<u8>>());
    write(root, pg, "error/invalid-utf8.log", &invalid, &mut files)?;
    write(
        root,
        pg,
        "error/name with spaces.log",
        &pg_log(5, 3),
        &mut files,
    )?;
    write(root, pg, "error/100%+#hash?.log", &pg_log(5, 4), &mut files)?;
    write(
        root,
        pg,
        "error/ログ-ファイル.log",
        multibyte.as_bytes(),
        &mut files,
    )?;

    let my = MYSQL_INSTANCE;
    let mysql_error = "2026-11-20T13:00:00.000000Z 0 [Warning] [MY-010068] [Server] CA certificate ca.pem is self signed.\n".repeat(20);
    write(
        root,
        my,
        "error/mysql-error.log",
        mysql_error.as_bytes(),
        &mut files,
    )?;
    let slow = "# Time: 2026-11-20T03:00:00.000000Z\n# Query_time: 12.5  Lock_time: 0.0 Rows_sent: 1\nSELECT SLEEP(12.5);\n".repeat(10);
    write(
        root,
        my,
        "slowquery/mysql-slowquery.log.3",
        slow.as_bytes(),
        &mut files,
    )?;
    let general = "2026-11-20T12:00:00.000000Z\t   12 Query\tSELECT 1\n".repeat(30);
    write(
        root,
        my,
        "general/mysql-general.log.12",
        general.as_bytes(),
        &mut files,
    )?;
    let audit = "20261120 13:00:00,ip-10-0-1-7,admin,10.0.1.9,12,34,QUERY,billing,'SELECT * FROM invoices',0\n".repeat(15);
    write(
        root,
        my,
        "audit/server_audit.log",
        audit.as_bytes(),
        &mut files,
    )?;

    if options.large_file_bytes > 0 {
        write_large_log(&root.join(pg).join(LARGE_FILE), options.large_file_bytes)?;
        files.push(GeneratedFile {
            instance: pg.to_owned(),
            name: LARGE_FILE.to_owned(),
        });
    }

    let fleet = FleetFile {
        instances: vec![
            InstanceMeta {
                id: pg.to_owned(),
                engine: "postgres".into(),
                status: "available".into(),
                tags: BTreeMap::from([
                    ("env".into(), "prod".into()),
                    ("team".into(), "orders".into()),
                ]),
                cluster: None,
                resource_id: None,
                incarnation: 0,
            },
            InstanceMeta {
                id: my.to_owned(),
                engine: "mysql".into(),
                status: "available".into(),
                tags: BTreeMap::from([
                    ("env".into(), "prod".into()),
                    ("team".into(), "billing".into()),
                ]),
                cluster: None,
                resource_id: None,
                incarnation: 0,
            },
        ],
    };
    std::fs::write(
        root.join(FLEET_FILE),
        serde_json::to_vec_pretty(&fleet).map_err(io::Error::other)?,
    )?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_log_has_exactly_the_requested_size() {
        let path = std::env::temp_dir().join(format!("rds-sim-large-{}", std::process::id()));
        write_large_log(&path, 100_001).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 100_001);
        std::fs::remove_file(path).unwrap();
    }
}
