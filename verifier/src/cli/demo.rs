//! `lightcone demo`: the whole system on one machine, on an embedded default fleet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use lightcone_verifier::audit::model::{ChipStatus, FindingKind};
use lightcone_verifier::demo::{self, DemoOptions};
use lightcone_verifier::Error;
use rand_core::RngCore as _;

/// Arguments of `lightcone demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Output folder for the log, trust and policy files and the reports
    /// (default: a fresh `lightcone-demo-<seed>` folder in the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed of the fleet's keys and path model (default: random; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Rounds per landmark, chip and cycle (the best one bounds the distance).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Probing cycles, one per audit epoch (at least 3).
    #[arg(long, default_value_t = 3)]
    cycles: u32,
    /// Length of an audit epoch in seconds (each cycle must fit in one).
    #[arg(long, default_value_t = 10.0)]
    epoch_s: f64,
}

fn fresh_out(seed: u64) -> PathBuf {
    let base = format!("lightcone-demo-{seed}");
    let mut path = PathBuf::from(&base);
    let mut n = 2;
    while path.exists() {
        path = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    path
}

fn kind_name(kind: FindingKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}"))
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Runs the demo and prints its summary.
pub fn run(args: DemoArgs) -> Result<(), Error> {
    let seed = args
        .seed
        .unwrap_or_else(|| rand_core::OsRng.next_u64() % 1_000_000);
    let out = args.out.unwrap_or_else(|| fresh_out(seed));
    if !args.epoch_s.is_finite() || args.epoch_s <= 0.0 || args.epoch_s > 3600.0 {
        return Err(demo::DemoError::Options("--epoch-s must be between 0 and 3600".into()).into());
    }
    let options = DemoOptions {
        out,
        seed,
        rounds: args.rounds,
        cycles: args.cycles,
        epoch: Duration::from_secs_f64(args.epoch_s),
        ..DemoOptions::default()
    };
    println!("lightcone demo (seed {seed}): the whole system on this machine, on loopback UDP");
    let o = demo::run(&options, &mut |line| println!("  {line}"))?;
    let r = &o.report;
    let name = |id: &Option<String>| {
        id.as_ref()
            .map(|i| o.names.get(i).cloned().unwrap_or_else(|| i.clone()))
            .unwrap_or_default()
    };
    let (landmarks, chips, agents, routes) = o.sizes;
    println!();
    println!(
        "lightcone demo · seed {} · {landmarks} landmarks · {chips} chips · {agents} UDP agents · \
         {routes} relay routes · {:.1} s",
        o.seed,
        o.elapsed.as_secs_f64()
    );
    let count = |s: ChipStatus| r.chips.iter().filter(|c| c.status == s).count();
    println!(
        "chips: {} verified · {} unverified · {} violation · {} inconsistent · {} invalid",
        count(ChipStatus::Verified),
        count(ChipStatus::Unverified),
        count(ChipStatus::Violation),
        count(ChipStatus::Inconsistent),
        count(ChipStatus::Invalid)
    );
    let signals: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind != FindingKind::ExcludedMeasurement)
        .collect();
    let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &signals {
        let who = if f.chip_id.is_some() {
            name(&f.chip_id)
        } else {
            format!("landmark {}", name(&f.landmark_id))
        };
        by_kind.entry(kind_name(f.kind)).or_default().push(who);
    }
    println!("fraud signals: {}", signals.len());
    for (kind, who) in &by_kind {
        let mut who = who.clone();
        who.sort();
        who.dedup();
        println!("  {kind:<24} {}", who.join(", "));
    }
    println!("not verified:");
    for row in &o.comparison.chips {
        if row.status != "verified" {
            println!(
                "  {:<20} {:<12} {} ({}, {}): {}",
                row.truth.name,
                row.status,
                row.truth.role,
                row.truth.site,
                row.truth.country,
                row.reason
            );
        }
    }
    let c = &o.comparison;
    let share = if c.decidable == 0 {
        100.0
    } else {
        100.0 * c.decidable_verified as f64 / c.decidable as f64
    };
    println!(
        "ground truth: {} — {}/{} honest chips the physics can decide are verified ({share:.0} %); \
         {}/{} honest chips in all; mispositioned landmark {} flagged: {}",
        if c.passed() { "MATCH" } else { "MISMATCH" },
        c.decidable_verified,
        c.decidable,
        c.honest_verified,
        c.honest,
        c.mispositioned_landmark,
        if c.flagged_landmarks.contains(&c.mispositioned_landmark) { "yes" } else { "no" }
    );
    for f in &c.failures {
        println!("  mismatch: {f}");
    }
    if o.overruns > 0 {
        println!(
            "  note: {} cycle(s) skipped probes to stay within their epoch (a busy machine); \
             a longer --epoch-s avoids that",
            o.overruns
        );
    }
    let d = shown(&o.out);
    println!();
    println!("files in {d}/:");
    println!("  report.html   the audit report with its world map — open it in a browser");
    println!("  report.json   every chip, epoch, verdict and finding");
    println!("  summary.txt   the auditor's text summary");
    println!("  truth.json    the fleet's ground truth next to the audit, chip by chip");
    println!(
        "  log/          the transparency log the log server wrote (C2SP tiles, checkpoint cosigned by both witnesses)"
    );
    println!("  log-mirror/   the log as the audit fetched it over HTTP · witness-N/ the witnesses' state");
    println!("  landmarks/    each landmark's outbox (empty: every submission was acknowledged)");
    println!("  trust.toml    vendor root, registry key, log key · policy.toml the policy and audit rules");
    println!("audit it again, as a regulator would (--now: at the demo's audit time):");
    println!(
        "  lightcone audit --log {d}/log --trust {d}/trust.toml --policy {d}/policy.toml --now {} --html {d}/reaudit.html",
        o.report.audit_time_ns / 1_000_000_000
    );
    println!("same fleet again: lightcone demo --seed {}", o.seed);
    Ok(())
}
