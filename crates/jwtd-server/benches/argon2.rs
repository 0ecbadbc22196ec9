//! argon2id implementations at jwtd's parameters (issue 6): one hash each, m=19456 KiB, t=2,
//! p=1, 32-byte output, 16-byte salt, all in one criterion group so they share the machine's
//! noise.
//!
//! - `rustcrypto-argon2-0.5`: the `argon2` crate, jwtd's hasher before argon2-rust;
//! - `argon2-rust-1.1-fresh`: argon2-rust, mapping and faulting in its memory for every hash;
//! - `argon2-rust-1.1-pooled`: argon2-rust keeping its memory between hashes, as each of jwtd's
//!   hashing threads does (`password.rs`).
//!
//! The C reference (phc-winner-argon2) has no crate that builds it from vendored sources with gcc
//! alone at full speed, so it is not here; BENCHMARKS.md has its figures, measured outside the
//! repository. Every implementation must produce the same digest, checked before timing.
//! Timings belong to the machine, so this is run by hand, never in CI:
//!
//! ```text
//! cargo bench -p jwtd-server --bench argon2
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use jwtd_server::password::{ITERATIONS, MEMORY_KIB, PARALLELISM, argon2 as argon2_rust};

const PASSWORD: &[u8] = b"correct horse battery staple";
const SALT: &[u8; 16] = b"jwtd-bench-salt!";
const HASH_BYTES: usize = jwtd_server::password::HASH_BYTES as usize;

fn rustcrypto() -> argon2::Argon2<'static> {
    let params = argon2::Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(HASH_BYTES))
        .expect("valid argon2 parameters");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn implementations(c: &mut Criterion) {
    let rustcrypto = rustcrypto();
    let fresh = argon2_rust();
    let mut pooled = fresh.hasher();

    let mut expected = [0; HASH_BYTES];
    rustcrypto
        .hash_password_into(PASSWORD, SALT, &mut expected)
        .unwrap();
    let mut out = [0; HASH_BYTES];
    fresh.hash_into(PASSWORD, SALT, &mut out).unwrap();
    assert_eq!(out, expected, "argon2-rust disagrees with the argon2 crate");
    pooled.hash_into(PASSWORD, SALT, &mut out).unwrap();
    assert_eq!(out, expected, "argon2-rust (pooled) disagrees");

    let mut group = c.benchmark_group("argon2id-m19456-t2-p1");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("rustcrypto-argon2-0.5", |b| {
        b.iter(|| {
            let mut out = [0; HASH_BYTES];
            rustcrypto
                .hash_password_into(black_box(PASSWORD), SALT, &mut out)
                .unwrap();
            out
        })
    });
    group.bench_function("argon2-rust-1.1-fresh", |b| {
        b.iter(|| {
            let mut out = [0; HASH_BYTES];
            fresh
                .hash_into(black_box(PASSWORD), SALT, &mut out)
                .unwrap();
            out
        })
    });
    group.bench_function("argon2-rust-1.1-pooled", |b| {
        b.iter(|| {
            let mut out = [0; HASH_BYTES];
            pooled
                .hash_into(black_box(PASSWORD), SALT, &mut out)
                .unwrap();
            out
        })
    });
    group.finish();
}

// What `criterion_main!` expands to, written out: the macro's generated function has no docs.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    implementations(&mut criterion);
    criterion.final_summary();
}
