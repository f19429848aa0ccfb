//! The demo, in process, with a fixed seed: the audit's findings must match the fleet's ground
//! truth exactly (smuggled chips never verified, the clone and the mispositioned landmark
//! flagged, the silent chip reported, every decidable honest chip verified).

use std::time::{Duration, Instant};

use lightcone_verifier::audit::model::ChipStatus;
use lightcone_verifier::demo::{self, DemoOptions};

#[test]
fn demo_findings_match_the_ground_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let options = DemoOptions {
        out: tmp.path().join("out"),
        seed: 2026,
        rounds: 2,
        cycles: 3,
        epoch: Duration::from_secs(10),
        // Half the default's probing threads: 72 instead of 144 on CI's 2 cores, so scheduling
        // adds less to the RTTs the debug build times (the chips' decidability is judged on
        // the path model, which does not know the machine is busy).
        threads_per_landmark: 4,
    };
    let o = demo::run(&options, &mut |line| println!("{line}")).unwrap();
    let c = &o.comparison;
    println!(
        "decidable honest chips verified: {}/{} ({:.0} %); honest verified {}/{}; {:.1} s",
        c.decidable_verified,
        c.decidable,
        100.0 * c.decidable_verified as f64 / c.decidable.max(1) as f64,
        c.honest_verified,
        c.honest,
        started.elapsed().as_secs_f64()
    );
    for f in &c.failures {
        println!("mismatch: {f}");
    }
    assert!(c.passed(), "{:#?}", c.failures);
    // The log as a service: both witnesses cosigned the checkpoint the audit fetched over
    // HTTP, and every landmark's submissions were acknowledged (its outbox is empty).
    assert_eq!(o.report.log.witnessed_by.len(), 2, "{:?}", o.report.log);
    let landmarks = std::fs::read_dir(o.out.join("landmarks")).unwrap();
    for l in landmarks {
        let outbox = l.unwrap().path().join("outbox");
        let left: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .collect();
        assert!(left.is_empty(), "{}: {left:?}", outbox.display());
    }
    assert!(
        !o.out.join("landmarks").join("00").join("log.key").exists(),
        "a landmark holds no log key"
    );
    // The parts of the truth the issue names, spelled out.
    for row in &c.chips {
        match row.truth.role.as_str() {
            "smuggled" => assert_ne!(row.status, "verified", "{row:?}"),
            "clone" => assert!(
                row.findings.iter().any(|f| f == "CounterRollback"),
                "{row:?}"
            ),
            "silent" => assert!(row.findings.iter().any(|f| f == "Silence"), "{row:?}"),
            _ => {}
        }
    }
    // The simulated GPUs answer with SPDM evidence (`passed` checked that the report shows
    // them with a P-384 key, their X.509 root as vendor and the endorsed model): the honest one
    // in Ashburn is decidable, the one smuggled to Hong Kong is never verified.
    let gpus: Vec<_> = c
        .chips
        .iter()
        .filter(|r| r.truth.evidence == "spdm-1.1-measurements")
        .collect();
    assert_eq!(gpus.len(), 2, "{gpus:?}");
    assert!(
        gpus.iter()
            .any(|r| r.truth.role == "honest" && r.truth.decidable),
        "{gpus:?}"
    );
    assert!(
        gpus.iter()
            .any(|r| r.truth.role == "smuggled" && r.status != "verified"),
        "{gpus:?}"
    );
    assert_eq!(c.flagged_landmarks, vec![c.mispositioned_landmark.clone()]);
    assert!(
        // With one faulty operator tolerated, a chip is decidable only where two operators'
        // landmarks each prove it (8 of 32 honest chips and the honest GPU for seed 7; 21
        // chips when every landmark was trusted).
        c.decidable >= 8,
        "too few decidable honest chips: {}",
        c.decidable
    );
    // Every decidable honest chip proved compliance (checked by `passed`); on a busy machine a
    // late last cycle can leave a few merely "unverified" at the end, so the fresh share is
    // stated and must stay high.
    assert!(
        c.decidable_verified * 10 >= c.decidable * 8,
        "only {}/{} decidable honest chips verified",
        c.decidable_verified,
        c.decidable
    );
    assert!(o
        .report
        .chips
        .iter()
        .all(|r| r.status != ChipStatus::Verified
            || r.epochs.iter().any(|e| e.verdict == "compliant")));
    for file in [
        "report.html",
        "report.json",
        "trust.toml",
        "policy.toml",
        "truth.json",
        "log/checkpoint",
    ] {
        assert!(o.out.join(file).exists(), "{file} missing");
    }
}
