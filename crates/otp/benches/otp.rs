//! Criterion benchmarks of the operations the server performs per login and per enrolment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use twofold_otp::{KeyUri, Secret, Totp, TotpParams, Window};

const NOW: u64 = 1_700_000_000;

fn totp() -> Totp {
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    Totp::new(secret, TotpParams::default()).unwrap()
}

/// A well-formed 6-digit code that matches no step in ±5 around NOW.
fn miss(totp: &Totp) -> String {
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|code| totp.verify(code, NOW, Window::symmetric(5)).is_none())
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let totp = totp();
    let hit = totp.generate_at(NOW);
    let miss = miss(&totp);

    c.bench_function("generate_at sha1 6 digits", |b| {
        b.iter(|| totp.generate_at(black_box(NOW)))
    });
    c.bench_function("verify default window, hit at current step", |b| {
        b.iter(|| totp.verify(black_box(&hit), black_box(NOW), Window::default()))
    });
    c.bench_function("verify default window, miss (3 steps)", |b| {
        b.iter(|| totp.verify(black_box(&miss), black_box(NOW), Window::default()))
    });
    c.bench_function("verify window ±5, miss (11 steps)", |b| {
        b.iter(|| totp.verify(black_box(&miss), black_box(NOW), Window::symmetric(5)))
    });
    c.bench_function("Secret::from_base32 (32 chars, grouped, lower-case)", |b| {
        b.iter(|| Secret::from_base32(black_box("gezd gnbv gy3t qojq gezd gnbv gy3t qojq")))
    });
    let uri = "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
               &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";
    c.bench_function("KeyUri::parse", |b| {
        b.iter(|| KeyUri::parse(black_box(uri)))
    });
}

criterion_group!(otp, benches);
criterion_main!(otp);
