//! End to end, as separate processes over loopback UDP: provision with the CLI, serve a chip,
//! relay it "2 000 km away", probe it, log the measurements, then audit the log with the trust
//! file alone. Every child is killed on drop; every wait has a timeout.

mod net_support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use lightcone::{LogRecord, ProcessingCredit, Speed, Wire};
use lightcone_verifier::log::{LogReader, VerifierKey};
use lightcone_verifier::registry::{unix_now_s, Trust};
use net_support::{eventually, run, run_ok, Proc};

const T: Duration = Duration::from_secs(20);

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Vendor, registry, one chip, one landmark, a log and the trust file, all with the CLI.
fn provision(root: &Path) -> String {
    run_ok(
        &[
            "vendor",
            "init",
            "--dir",
            p(&root.join("vendor")),
            "--name",
            "acme",
        ],
        T,
    );
    run_ok(&["registry", "init", "--dir", p(&root.join("registry"))], T);
    let out = run_ok(
        &[
            "chip",
            "provision",
            "--vendor",
            p(&root.join("vendor")),
            "--dir",
            p(&root.join("chip")),
            "--model",
            "LC-H200",
            "--min-response-ns",
            "1000",
        ],
        T,
    );
    assert!(out.starts_with("chip "), "{out}");
    run_ok(
        &[
            "landmark",
            "provision",
            "--registry",
            p(&root.join("registry")),
            "--dir",
            p(&root.join("paris")),
            "--operator",
            "example-operator",
            "--lat",
            "48.8566",
            "--lon",
            "2.3522",
            "--uncertainty-m",
            "25",
        ],
        T,
    );
    let vkey = run_ok(
        &[
            "log",
            "init",
            "--dir",
            p(&root.join("log")),
            "--origin",
            "lightcone.test/log",
        ],
        T,
    )
    .trim()
    .to_string();
    run_ok(
        &[
            "registry",
            "trust",
            "--out",
            p(&root.join("trust.toml")),
            "--registry",
            p(&root.join("registry")),
            "--vendor",
            p(&root.join("vendor")),
            "--log-verifier-key",
            &vkey,
        ],
        T,
    );
    for secret in [
        "vendor/vendor.key",
        "registry/registry.key",
        "chip/device.key",
        "paris/landmark.key",
    ] {
        let mode = std::fs::metadata(root.join(secret))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{secret}");
    }
    vkey
}

#[test]
fn provision_serve_relay_probe_log_and_audit_across_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let vkey = provision(root);

    let mut chip = Proc::spawn(&[
        "chip",
        "serve",
        "--dir",
        p(&root.join("chip")),
        "--listen",
        "127.0.0.1:0",
    ]);
    let chip_addr = chip.listening().to_string();
    // 6.671 ms one way: light covers 2 000 km in that time. Plus up to 1 ms of jitter.
    let relay = Proc::spawn(&[
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--forward",
        &chip_addr,
        "--delay-ms",
        "6.671",
        "--jitter-ms",
        "1",
    ]);
    let relay_addr = relay.listening().to_string();

    let probe = |to: &str| {
        run_ok(
            &[
                "landmark",
                "probe",
                "--dir",
                p(&root.join("paris")),
                "--trust",
                p(&root.join("trust.toml")),
                "--chip",
                to,
                "--rounds",
                "5",
                "--timeout-ms",
                "1000",
                "--log",
                p(&root.join("log")),
            ],
            T,
        )
    };
    let far = probe(&relay_addr);
    assert!(far.contains("rounds 5/5 ok"), "{far}");
    assert!(far.contains("logged entries 0..7"), "{far}");
    let near = probe(&chip_addr);
    assert!(
        near.contains("logged entries 7..12"),
        "certificates are logged once: {near}"
    );
    println!("{far}\n{near}");

    run_ok(
        &[
            "log",
            "verify",
            "--dir",
            p(&root.join("log")),
            "--key",
            &vkey,
        ],
        T,
    );

    // The auditor: the trust file alone checks every record in the log.
    let trust = Trust::load(&root.join("trust.toml")).unwrap();
    let vk = VerifierKey::parse(trust.log_verifier_key.as_deref().unwrap()).unwrap();
    let reader = LogReader::open(root.join("log")).unwrap();
    assert_eq!(reader.verify(&vk).unwrap().size(), 12);
    let now = unix_now_s();
    let (mut devices, mut landmarks) = (HashMap::new(), HashMap::new());
    let mut bounds = Vec::new();
    for entry in reader.entries() {
        let (_, bytes) = entry.unwrap();
        match LogRecord::decode(&bytes).unwrap() {
            LogRecord::DeviceCertificate(c) => {
                devices.insert(c.body.chip_id, trust.verify_device(&c, now).unwrap());
            }
            LogRecord::LandmarkCertificate(c) => {
                landmarks.insert(c.body.landmark_id, trust.verify_landmark(&c, now).unwrap());
            }
            LogRecord::Measurement(m) => {
                let (device, landmark) = (&devices[&m.chip_id()], &landmarks[&m.landmark_id()]);
                let v = m.verify(landmark, device).unwrap();
                bounds.push(v.distance_bound(
                    device,
                    landmark,
                    Speed::LIGHT,
                    ProcessingCredit::EndorsedMinimum,
                ));
            }
            LogRecord::ModelEndorsement(_) => panic!("no GPU in this fleet"),
        }
    }
    assert_eq!(bounds.len(), 10);
    let floor = Speed::LIGHT.metres_in(6_671_000);
    for b in &bounds[..5] {
        assert!(
            b.metres() >= floor,
            "relayed bound {} m < {floor} m",
            b.metres()
        );
    }
    assert!(chip.is_running());
}

#[test]
fn chip_serve_survives_hostile_datagrams_and_fleet_run_reports_unreachable_chips() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let vkey = provision(root);
    let mut chip = Proc::spawn(&[
        "chip",
        "serve",
        "--dir",
        p(&root.join("chip")),
        "--listen",
        "127.0.0.1:0",
    ]);
    let chip_addr = chip.listening();

    let junk = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..300usize {
        let mut b = vec![0u8; 1 + (i * 7) % 1500];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
        junk.send_to(&b, chip_addr).unwrap();
        // Paced, so the kernel's receive buffer never overflows (drops would go uncounted).
        std::thread::sleep(Duration::from_micros(300));
    }
    junk.send_to(&[], chip_addr).unwrap();
    assert!(
        eventually(Duration::from_secs(5), || chip
            .stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("oversized=") && l.contains("empty=1"))),
        "no discard counters reported: {:?}",
        chip.stderr.lock().unwrap()
    );
    assert!(chip.is_running(), "the agent died on hostile input");

    // A fleet: the live chip, a silent address with a certificate, and one without.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let fleet = root.join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            "rounds = 2\ntimeout_ms = 100\nretries = 0\ninterval_s = 1\n\n\
             [[chip]]\nname = \"live\"\naddr = \"{chip_addr}\"\n\n\
             [[chip]]\nname = \"silent\"\naddr = \"{silent}\"\ncertificate = \"chip/device.cert.toml\"\n\n\
             [[chip]]\nname = \"unknown\"\naddr = \"{silent}\"\n"
        ),
    )
    .unwrap();
    let out = run(
        &[
            "landmark",
            "run",
            "--dir",
            p(&root.join("paris")),
            "--trust",
            p(&root.join("trust.toml")),
            "--fleet",
            p(&fleet),
            "--cycles",
            "1",
            "--log",
            p(&root.join("log")),
        ],
        T,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("live: chip") && text.contains("rounds 2/2 ok"),
        "{text}"
    );
    assert!(text.contains("unreachable: no valid answer"), "{text}");
    assert!(
        text.contains("unknown: not probed: no valid device certificate"),
        "{text}"
    );
    run_ok(
        &[
            "log",
            "verify",
            "--dir",
            p(&root.join("log")),
            "--key",
            &vkey,
        ],
        T,
    );
    assert!(chip.is_running());
}
