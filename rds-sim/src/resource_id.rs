//! `DbiResourceId`s as RDS shapes them (`db-` and 26 upper-case letters or
//! digits), derived from the instance identifier and its incarnation.

use std::io;

const PREFIX: &str = "db-";
const LENGTH: usize = 26;
const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The resource id of incarnation `incarnation` of instance `id`: the same
/// on every request and every run, different for every incarnation.
/// FNV-1a and splitmix64 rather than `DefaultHasher`, whose output Rust
/// does not promise to keep across releases.
pub fn derive(id: &str, incarnation: u32) -> String {
    let mut state = fnv1a(format!("{id}\0{incarnation}").as_bytes());
    let mut out = String::with_capacity(PREFIX.len() + LENGTH);
    out.push_str(PREFIX);
    for _ in 0..LENGTH {
        let n = splitmix64(&mut state);
        out.push(ALPHABET[(n % ALPHABET.len() as u64) as usize] as char);
    }
    out
}

/// Refuses what RDS would never answer, so a typo in `fleet.json` or a
/// switchover request does not reach the pipeline.
pub fn validate(resource_id: &str) -> io::Result<()> {
    let ok = resource_id.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == LENGTH
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "resource id {resource_id:?} is not \"db-\" and 26 upper-case letters or digits"
            ),
        ))
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_have_the_rds_shape_and_differ_by_incarnation() {
        let first = derive("mysql-billing", 0);
        validate(&first).unwrap();
        assert_eq!(first, derive("mysql-billing", 0), "stable");
        assert_ne!(first, derive("mysql-billing", 1));
        assert_ne!(first, derive("pg-orders", 0));
        // Pinned, so a change of the derivation (which would look like a
        // switchover to every pipeline run against an old fleet) is seen.
        assert_eq!(first, "db-7KRY47M5XH9BG1P0LNXC2T06QG");
    }

    #[test]
    fn validation_accepts_only_the_rds_shape() {
        validate("db-ABCDEFGHIJKLMNOPQRSTUVWXY0").unwrap();
        for bad in [
            "",
            "db-",
            "db-abcdefghijklmnopqrstuvwxy0",
            "db-ABCDEFGHIJKLMNOPQRSTUVWXY",
            "db-ABCDEFGHIJKLMNOPQRSTUVWXY01",
            "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0",
            "db-ABCDEFGHIJKLMNOPQRSTUVWX-0",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
