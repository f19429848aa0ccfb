//! Criterion benches of the core's hot paths (filled in with the core messages).
use criterion::{criterion_group, criterion_main, Criterion};

fn bench_distance(c: &mut Criterion) {
    c.bench_function("distance_bound", |b| {
        b.iter(|| {
            lightcone::DistanceBound::from_rtt(
                criterion::black_box(1_000_000),
                20_000,
                100,
                lightcone::Speed::LIGHT,
            )
        })
    });
}

criterion_group!(benches, bench_distance);
criterion_main!(benches);
