//! The single-file table: the worker shipping each size, next to a plain
//! download and the S3 side alone, read against the targets.

use std::path::Path;

use anyhow::bail;
use shipper::layout::Compression;

use crate::{BUCKET, Cli, INSTANCE, MIB, Measured, mib, mib_per_s, read_once, run_child};

/// One size: the worker shipping, the plain download, the S3 side alone.
pub(crate) struct Row {
    size: u64,
    shipped: Measured,
    download: Measured,
    upload: Measured,
}

/// Runs the three child measurements for every file and prints a table.
/// `fs_root`: where s3s-fs stores objects, to check the stored size and
/// clear it between sizes.
pub(crate) fn measure(
    cli: &Cli,
    urls: (&str, &str),
    files: &[(String, u64)],
    fs_root: Option<&Path>,
) -> anyhow::Result<Vec<Row>> {
    println!(
        "{:>8} {:>7} {:>7} {:>9} | {:>10} {:>8} | {:>9} {:>8} | {:>7}",
        "size MiB",
        "ship s",
        "MiB/s",
        "RSS MiB",
        "download s",
        "MiB/s",
        "S3 only s",
        "MiB/s",
        "ship/dl"
    );
    let mut rows = Vec::new();
    for (name, size) in files {
        read_once(cli, name)?;
        let download = run_child("download", cli, urls, name, *size)?;
        let upload = run_child("upload", cli, urls, name, *size)?;
        let shipped = run_child("ship", cli, urls, name, *size)?;
        if shipped.bytes != *size || download.bytes != *size || upload.bytes != *size {
            bail!("byte counts differ from the file size for {name}");
        }
        if let Some(root) = fs_root {
            let stored_name = format!("{name}{}", cli.compression.suffix());
            let stored = root
                .join(BUCKET)
                .join("bench")
                .join(INSTANCE)
                .join(stored_name);
            let stored_len = std::fs::metadata(&stored).map(|m| m.len()).unwrap_or(0);
            let expected_len = cli.compression == Compression::None;
            if (expected_len && stored_len != *size) || stored_len == 0 {
                bail!("S3 holds {stored_len} bytes of {name}, expected {size}");
            }
            // Keep tmpfs small: drop what this size wrote.
            std::fs::remove_dir_all(root.join(BUCKET))?;
            std::fs::create_dir_all(root.join(BUCKET))?;
        }
        println!(
            "{:>8} {:>7.2} {:>7.1} {:>9.1} | {:>10.2} {:>8.1} | {:>9.2} {:>8.1} | {:>7.2}",
            size / MIB,
            shipped.secs,
            mib_per_s(&shipped),
            mib(shipped.peak_rss_kib),
            download.secs,
            mib_per_s(&download),
            upload.secs,
            mib_per_s(&upload),
            mib_per_s(&shipped) / mib_per_s(&download)
        );
        rows.push(Row {
            size: *size,
            shipped,
            download,
            upload,
        });
    }
    Ok(rows)
}

/// The figures read against the targets.
pub(crate) fn summarise(rows: &[Row], s3_not_bottleneck: bool) {
    let (Some(small), Some(big)) = (
        rows.iter().min_by_key(|r| r.size),
        rows.iter().max_by_key(|r| r.size),
    ) else {
        return;
    };
    println!(
        "peak RSS at {} MiB: {:.1} MiB (target <= 64); {} MiB / {} MiB: {:.2} (target <= 1.2)",
        big.size / MIB,
        mib(big.shipped.peak_rss_kib),
        big.size / MIB,
        small.size / MIB,
        big.shipped.peak_rss_kib as f64 / small.shipped.peak_rss_kib as f64
    );
    let worst = rows
        .iter()
        .map(|r| mib_per_s(&r.shipped) / mib_per_s(&r.download))
        .fold(f64::INFINITY, f64::min);
    let worst_vs_s3 = rows
        .iter()
        .map(|r| mib_per_s(&r.shipped) / mib_per_s(&r.upload))
        .fold(f64::INFINITY, f64::min);
    if s3_not_bottleneck {
        println!("lowest ship/download throughput: {worst:.2} (target >= 0.5)");
    } else {
        println!(
            "lowest ship/download throughput: {worst:.2}; ship/S3-only: {worst_vs_s3:.2} (the store bounds it)"
        );
    }
}
