//! `lightcone relay`: a UDP forwarder that adds a one-way delay, standing in for distance.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use clap::Args;
use lightcone::Speed;
use lightcone_verifier::net::{NetError, Relay, RelayConfig, RouteSpec};
use lightcone_verifier::Error;

/// Arguments of `lightcone relay`.
#[derive(Args, Debug)]
pub struct RelayArgs {
    /// Address to listen on (port 0: any free port); printed as `listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to forward (e.g. a chip agent).
    #[arg(long)]
    forward: SocketAddr,
    /// One-way delay added each way, milliseconds (fractions allowed).
    #[arg(long, default_value_t = 0.0)]
    delay_ms: f64,
    /// Extra random delay, uniform in [0, J] ms, per datagram (only ever adds).
    #[arg(long, default_value_t = 0.0)]
    jitter_ms: f64,
}

fn millis(name: &str, ms: f64) -> Result<Duration, Error> {
    if !(ms.is_finite() && (0.0..=3_600_000.0).contains(&ms)) {
        return Err(NetError::Config {
            path: name.into(),
            reason: format!("{ms} ms is not between 0 and one hour"),
        }
        .into());
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// Runs `lightcone relay`: forwards until the process is stopped.
pub fn run(args: RelayArgs) -> Result<(), Error> {
    let config = RelayConfig {
        delay: millis("--delay-ms", args.delay_ms)?,
        jitter: millis("--jitter-ms", args.jitter_ms)?,
    };
    let relay = Relay::start(&[RouteSpec {
        listen: args.listen,
        forward: args.forward,
        config,
    }])?;
    let addr = relay
        .listen_addrs()
        .first()
        .copied()
        .ok_or_else(|| NetError::Config {
            path: "--listen".into(),
            reason: "no route started".into(),
        })?;
    println!("listening on {addr}");
    let delay_ns = u64::try_from(config.delay.as_nanos()).unwrap_or(u64::MAX);
    println!(
        "forwarding to {} with {:?} each way (+ up to {:?} jitter): like {:.1} km of vacuum",
        args.forward,
        config.delay,
        config.jitter,
        Speed::LIGHT.metres_in(delay_ns) as f64 / 1000.0
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let mut last = (0, 0, 0);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let c = relay.counters();
        let now = (
            c.forwarded.load(Relaxed),
            c.returned.load(Relaxed),
            c.dropped.load(Relaxed),
        );
        if now != last {
            eprintln!(
                "stats forwarded={} returned={} dropped={}",
                now.0, now.1, now.2
            );
            last = now;
        }
    }
}
