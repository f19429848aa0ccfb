//! The audit as one self-contained HTML page: inline CSS and SVG, no scripts, no external
//! resources (it opens offline and can be archived or mailed as one file). The tables a
//! regulator reads first come first; every string from the report is escaped.

use super::svg::{status_class, world_map};
use super::ReportError;
use super::{
    coord, duration, kind_meaning, kind_name, latest_region, names, speed, status_counts, utc,
    write_atomic,
};
use crate::audit::model::{AuditReport, ChipReport, ChipStatus, Finding, FindingKind};
use crate::geo::World;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"`, `'`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Most rows of the all-chips table (the problem tables above it are never cut).
const ALL_CHIPS_MAX: usize = 20_000;

const CSS: &str = "
:root{--verified:#1a7f37;--violation:#cf222e;--inconsistent:#8250df;--invalid:#3d1d63;
--unverified:#b35900;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,
'Helvetica Neue',Arial,sans-serif;color:var(--ink);background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}
.sub{color:var(--muted);margin:0 0 14px}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.id{white-space:nowrap}
td.nw{white-space:nowrap}
.warn{background:#fff1e5;border:2px solid var(--violation);color:#82071e;padding:10px 14px;
font-weight:600;margin:12px 0;border-radius:6px}
.note{color:var(--muted);font-size:12.5px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.badges{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.badge{border-radius:14px;padding:3px 12px;color:#fff;font-weight:600}
.badge.verified{background:var(--verified)}.badge.violation{background:var(--violation)}
.badge.inconsistent{background:var(--inconsistent)}.badge.invalid{background:var(--invalid)}
.badge.unverified{background:var(--unverified)}.badge.zero{opacity:.35}
table{border-collapse:collapse;width:100%;margin:6px 0 4px}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.st{font-weight:700;text-transform:uppercase;font-size:12px;white-space:nowrap}
.st.verified{color:var(--verified)}.st.violation{color:var(--violation)}
.st.inconsistent{color:var(--inconsistent)}.st.invalid{color:var(--invalid)}
.st.unverified{color:var(--unverified)}.st.bad{color:#b35900}
.none{color:var(--muted);font-style:italic}
figure{margin:8px 0}
.details{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.details figcaption{font-size:12.5px;color:var(--muted)}
svg.map{width:100%;height:auto;display:block;border:1px solid var(--line);border-radius:4px}
.sea{fill:#eef4fa}.grid{stroke:#c9d6e3;stroke-width:1;fill:none;vector-effect:non-scaling-stroke}
.c{fill:#f1efe8;stroke:#9aa0a6;stroke-width:.4;vector-effect:non-scaling-stroke}
.c.permitted{fill:#dcefdc}
.c.forbidden{fill:#f3c4c4;stroke:#a0313a;stroke-width:.8}
.region{fill-opacity:.22;stroke-width:1.6;vector-effect:non-scaling-stroke}
.region.verified{fill:var(--verified);stroke:var(--verified)}
.region.violation{fill:var(--violation);stroke:var(--violation);fill-opacity:.3}
.region.inconsistent{fill:var(--inconsistent);stroke:var(--inconsistent)}
.region.invalid{fill:var(--invalid);stroke:var(--invalid)}
.region.unverified{fill:var(--unverified);stroke:var(--unverified);stroke-dasharray:5 3}
.dot{stroke:#fff;stroke-width:1;vector-effect:non-scaling-stroke}
.dot.verified{fill:var(--verified)}.dot.violation{fill:var(--violation)}
.dot.inconsistent{fill:var(--inconsistent)}.dot.invalid{fill:var(--invalid)}
.dot.unverified{fill:var(--unverified)}
.lm{fill:#0b4f8a;stroke:#fff;stroke-width:1.2;vector-effect:non-scaling-stroke}
.lm.bad{fill:#ff9f1c;stroke:#6b2d00;stroke-width:2}
.lmlabel{font:bold 64px ui-monospace,Menlo,Consolas,monospace;fill:#0b4f8a;
paint-order:stroke;stroke:#fff;stroke-width:10px}
.lmlabel.bad{fill:#8a3b00}
.legend{display:flex;flex-wrap:wrap;gap:6px 20px;margin:8px 0;font-size:13px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{width:16px;height:12px;display:inline-block;border:2px solid;border-radius:2px}
footer{margin-top:32px;color:var(--muted);font-size:12px}
";

/// The audit as one self-contained HTML document (inline CSS and SVG, no scripts, no external
/// resources), with the map drawn over `world`'s borders.
///
/// Order: policy and log summary (with a warning if the speed is below c), chip counts by
/// status, the map and its legend, then the tables: violations, unverified chips, invalid and
/// inconsistent chips, fraud signals, landmark health, and every chip with its latest verdict.
pub fn render_html(report: &AuditReport, world: &World) -> String {
    let map = world_map(report, world);
    let mut h = String::with_capacity(map.svg.len() + 64 * 1024);
    let p = &report.policy;
    let log = &report.log;
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        h,
        "<title>lightcone audit — {}</title>",
        escape(&log.origin)
    );
    let _ = write!(h, "<style>{CSS}</style></head><body>");
    let _ = write!(
        h,
        "<h1>lightcone audit report</h1><p class=\"sub\">Audit time {} ({}) · log <code>{}</code></p>",
        utc(report.audit_time_ns),
        report.audit_time_from.describe(),
        escape(&log.origin)
    );
    if let Some(stale) = report
        .findings
        .iter()
        .find(|f| f.kind == crate::audit::model::FindingKind::StaleLog)
    {
        let _ = write!(
            h,
            "<div class=\"warn\">⚠ STALE LOG: {}.</div>",
            escape(&stale.detail)
        );
    }
    if !p.speed_sound_for_all_media {
        let _ = write!(
            h,
            "<div class=\"warn\">⚠ WARNING: speed below c: unsound against microwave links. The \
             policy assumes signals travel at {}; a chip reached over a faster medium can be \
             farther away than its region says, so “compliant” under this policy is not proof.</div>",
            escape(&speed(p.speed_m_per_s))
        );
    }
    if let Some(km) = p.self_reported_worst_case_km {
        let _ = write!(
            h,
            "<div class=\"warn\">⚠ WARNING: self-reported processing time is credited (policy \
             opt-in). The chip's owner controls that clock: each cap may be up to {km:.0} km too \
             small.</div>"
        );
    }

    // Log and policy facts.
    h.push_str("<dl class=\"facts\">");
    fact(
        &mut h,
        "Log",
        &format!("{} · {} entries", log.origin, log.size),
    );
    for other in report.logs.iter().skip(1) {
        fact(
            &mut h,
            "Also audited",
            &format!(
                "{} · {} entries · root {}",
                other.origin, other.size, other.root_hash
            ),
        );
    }
    let _ = write!(
        h,
        "<dt>Root hash</dt><dd><code>{}</code></dd>",
        escape(&log.root_hash)
    );
    if !log.witnessed_by.is_empty() {
        fact(&mut h, "Witnessed by", &log.witnessed_by.join(", "));
    }
    fact(&mut h, "Permitted", &names(&p.permitted));
    fact(&mut h, "Forbidden", &names(&p.forbidden));
    fact(&mut h, "Names", &p.names);
    fact(&mut h, "Sea (no country)", &super::sea_rule(p));
    fact(&mut h, "Speed", &speed(p.speed_m_per_s));
    fact(
        &mut h,
        "Windows",
        &format!(
            "epoch {} · freshness {} · heartbeat {} · max travel {} km/h",
            duration(p.epoch_s),
            duration(p.freshness_s),
            duration(p.heartbeat_s),
            p.max_travel_kmh
        ),
    );
    fact(
        &mut h,
        "Processing time",
        if p.credit_self_reported_processing {
            "self-reported time credited"
        } else {
            "not credited"
        },
    );
    fact(
        &mut h,
        "Faulty operators tolerated",
        &if p.faulty_operators == 0 {
            "0 (every landmark is trusted)".to_owned()
        } else {
            format!(
                "{0}: verdicts hold whatever {0} landmark operator(s) sign",
                p.faulty_operators
            )
        },
    );
    let c = &report.counts;
    fact(
        &mut h,
        "Entries",
        &format!(
            "{} read · {} measurements ({} accepted) · {} device and {} landmark certificates · \
             {} signatures verified · {} rejected",
            c.entries,
            c.measurements,
            c.measurements_accepted,
            c.device_certificates,
            c.landmark_certificates,
            c.signatures_verified,
            c.rejected
        ),
    );
    h.push_str("</dl>");

    h.push_str("<div class=\"badges\">");
    let _ = write!(
        h,
        "<span class=\"badge\" style=\"background:#59636e\">{} chips</span>",
        report.chips.len()
    );
    for (s, n) in status_counts(report) {
        let zero = if n == 0 { " zero" } else { "" };
        let _ = write!(
            h,
            "<span class=\"badge {}{zero}\">{n} {}</span>",
            status_class(s),
            s.as_str()
        );
    }
    let _ = write!(
        h,
        "<span class=\"badge\" style=\"background:{}\">{} findings</span></div>",
        if report.findings.is_empty() {
            "#59636e"
        } else {
            "#82071e"
        },
        report.findings.len()
    );

    // Map and legend.
    h.push_str("<h2>Map</h2><figure>");
    h.push_str(&map.svg);
    h.push_str("<figcaption>");
    legend(&mut h);
    h.push_str(
        "<p class=\"note\">Each chip's circle encloses the feasible region of its latest epoch \
         that has one (hover for details); the dot is a point of that region. Equirectangular \
         projection; borders: Natural Earth 1:10m, simplified to 0.05°.</p>",
    );
    for n in &map.notes {
        let _ = write!(h, "<p class=\"note\">Not drawn: {}</p>", escape(n));
    }
    h.push_str("</figcaption></figure>");
    if !map.details.is_empty() {
        h.push_str("<div class=\"details\">");
        for d in &map.details {
            let _ = write!(
                h,
                "<figure>{}<figcaption>Detail {}</figcaption></figure>",
                d.svg,
                escape(&d.caption)
            );
        }
        h.push_str("</div>");
    }

    let by = |s: ChipStatus| report.chips.iter().filter(move |c| c.status == s);

    // 1. Violations.
    let v: Vec<&ChipReport> = by(ChipStatus::Violation).collect();
    let _ = write!(h, "<h2>Violations ({})</h2>", v.len());
    if v.is_empty() {
        h.push_str("<p class=\"none\">No chip was found outside the permitted regions.</p>");
    } else {
        h.push_str("<table><tr><th>Chip</th><th>Model</th><th>Latest epoch</th><th>Where</th><th>Reason</th></tr>");
        for chip in v {
            let last = chip.epochs.last();
            let when = last.map(|e| utc(e.start_ns)).unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                chip_link(&chip.chip_id),
                escape(&model(chip)),
                escape(&when),
                escape(&whereabouts(chip)),
                escape(&chip.reason)
            );
        }
        h.push_str("</table>");
    }

    // 2. Unverified chips.
    let u: Vec<&ChipReport> = by(ChipStatus::Unverified).collect();
    let _ = write!(h, "<h2>Unverified chips ({})</h2>", u.len());
    if u.is_empty() {
        h.push_str(
            "<p class=\"none\">Every chip with valid evidence proved compliance recently.</p>",
        );
    } else {
        h.push_str(
            "<table><tr><th>Chip</th><th>Model</th><th>Last compliant</th><th>Reason</th></tr>",
        );
        for chip in u {
            let _ = write!(
                h,
                "<tr><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                chip_link(&chip.chip_id),
                escape(&model(chip)),
                escape(
                    &chip
                        .last_compliant_ns
                        .map_or_else(|| "never".to_owned(), utc)
                ),
                escape(&chip.reason)
            );
        }
        h.push_str("</table>");
    }

    // 3. Invalid and inconsistent chips.
    let bad: Vec<&ChipReport> = by(ChipStatus::Invalid)
        .chain(by(ChipStatus::Inconsistent))
        .collect();
    let _ = write!(h, "<h2>Invalid or inconsistent chips ({})</h2>", bad.len());
    if bad.is_empty() {
        h.push_str("<p class=\"none\">No chip failed a signature, certificate, counter or consistency check.</p>");
    } else {
        h.push_str("<table><tr><th>Chip</th><th>Status</th><th>Model</th><th>Reason</th></tr>");
        for chip in bad {
            let _ = write!(
                h,
                "<tr><td class=\"id\">{}</td><td class=\"st {}\">{}</td><td>{}</td><td>{}</td></tr>",
                chip_link(&chip.chip_id),
                status_class(chip.status),
                chip.status.as_str(),
                escape(&model(chip)),
                escape(&chip.reason)
            );
        }
        h.push_str("</table>");
    }

    // 4. Fraud signals.
    let mut groups: BTreeMap<FindingKind, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        groups.entry(f.kind).or_default().push(f);
    }
    let _ = write!(
        h,
        "<h2>Fraud signals and rejected entries ({})</h2>",
        report.findings.len()
    );
    if groups.is_empty() {
        h.push_str("<p class=\"none\">None.</p>");
    } else {
        h.push_str("<table><tr><th>Entry</th><th>Chip</th><th>Landmark</th><th>Detail</th></tr>");
        for (kind, list) in &groups {
            let _ = write!(
                h,
                "<tr><th colspan=\"4\" class=\"kind\">{} ×{} <span class=\"note\">— {}</span></th></tr>",
                escape(&kind_name(*kind)),
                list.len(),
                escape(kind_meaning(*kind))
            );
            for f in list {
                let _ = write!(
                    h,
                    "<tr><td class=\"n\">{}</td><td class=\"id\">{}</td>\
                     <td class=\"id\">{}</td><td>{}</td></tr>",
                    match (f.log_index, &f.log_origin) {
                        (Some(i), Some(origin)) => escape(&format!("{origin}#{i}")),
                        (Some(i), None) => i.to_string(),
                        _ => String::new(),
                    },
                    f.chip_id.as_deref().map(chip_link).unwrap_or_default(),
                    f.landmark_id
                        .as_deref()
                        .map(landmark_link)
                        .unwrap_or_default(),
                    escape(&f.detail)
                );
            }
        }
        h.push_str("</table>");
    }

    // 5. Landmark health.
    let _ = write!(h, "<h2>Landmark health ({})</h2>", report.landmarks.len());
    if report.landmarks.is_empty() {
        h.push_str("<p class=\"none\">No landmark certificate in the log.</p>");
    } else {
        h.push_str(
            "<table><tr><th>Landmark</th><th>Operator</th><th>Status</th><th>Position</th><th>±</th>\
             <th>Confirmed within</th><th>Measurements</th><th>Cross-checks failed / run</th>\
             <th>Reason</th></tr>",
        );
        for l in &report.landmarks {
            let class = if l.status == "ok" { "verified" } else { "bad" };
            let confirmed = l.confirmed_within_m.map_or_else(
                || format!("unconfirmed ({} other operator(s))", l.confirming_operators),
                |m| {
                    format!(
                        "{:.0} km ({} operators)",
                        m / 1000.0,
                        l.confirming_operators
                    )
                },
            );
            let _ = write!(
                h,
                "<tr id=\"landmark-{0}\"><td class=\"id\">{0}</td><td>{8}</td><td class=\"st {class}\">{1}</td>\
                 <td class=\"nw\">{2}</td><td class=\"n\">{3} m</td><td>{9}</td><td class=\"n\">{4}</td>\
                 <td class=\"n\">{5} / {6}</td><td>{7}</td></tr>",
                escape(&l.landmark_id),
                escape(&l.status),
                coord(l.lat, l.lon),
                l.uncertainty_m,
                l.measurements,
                l.cross_checks.1,
                l.cross_checks.0,
                escape(l.reason.as_deref().unwrap_or("")),
                escape(&l.operator),
                escape(&confirmed)
            );
        }
        h.push_str("</table>");
    }

    // 6. All chips.
    let _ = write!(h, "<h2>All chips ({})</h2>", report.chips.len());
    if report.chips.is_empty() {
        h.push_str("<p class=\"none\">No chip in the log.</p>");
    } else {
        h.push_str(
            "<table><tr><th>Chip</th><th>Status</th><th>Holds with</th><th>Model</th><th>Latest epoch</th>\
             <th>Verdict</th><th>Region</th><th>Measurements ok / rejected</th><th>Reason</th></tr>",
        );
        for chip in report.chips.iter().take(ALL_CHIPS_MAX) {
            let last = chip.epochs.last();
            let robust = chip
                .robustness
                .map_or_else(|| "—".to_owned(), |f| format!("{f} operator(s) lying"));
            let _ =
                write!(
                h,
                "<tr id=\"chip-{}\"><td class=\"id\">{}</td><td class=\"st {}\">{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{} / {}</td><td>{}</td></tr>",
                escape(&chip.chip_id),
                escape(&chip.chip_id),
                status_class(chip.status),
                chip.status.as_str(),
                escape(&robust),
                escape(&model(chip)),
                escape(&last.map(|e| utc(e.start_ns)).unwrap_or_else(|| "—".to_owned())),
                escape(last.map_or("no epoch", |e| e.verdict.as_str())),
                escape(&whereabouts(chip)),
                chip.measurements,
                chip.rejected,
                escape(&chip.reason)
            );
        }
        h.push_str("</table>");
        if report.chips.len() > ALL_CHIPS_MAX {
            let _ = write!(
                h,
                "<p class=\"note\">The first {ALL_CHIPS_MAX} chips by id are listed; the JSON report \
                 has all {}.</p>",
                report.chips.len()
            );
        }
    }
    h.push_str(
        "<footer>Generated by lightcone-verifier from a verified log checkpoint. Self-contained: \
         no scripts, no external resources. Verdicts are conservative: approximations only \
         ever move a verdict toward “inconclusive”.</footer></body></html>\n",
    );
    h
}

/// Writes [`render_html`] of the report to `path` atomically (temporary file, then rename).
pub fn write_html(report: &AuditReport, world: &World, path: &Path) -> Result<(), ReportError> {
    write_atomic(path, render_html(report, world).as_bytes())
}

fn fact(h: &mut String, name: &str, value: &str) {
    let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
}

fn chip_link(id: &str) -> String {
    let id = escape(id);
    format!("<a href=\"#chip-{id}\">{id}</a>")
}

fn landmark_link(id: &str) -> String {
    let id = escape(id);
    format!("<a href=\"#landmark-{id}\">{id}</a>")
}

fn model(chip: &ChipReport) -> String {
    let name = match (chip.vendor.is_empty(), chip.model.is_empty()) {
        (true, true) => return "no valid certificate".to_owned(),
        (false, true) => chip.vendor.clone(),
        (true, false) => chip.model.clone(),
        (false, false) => format!("{} {}", chip.vendor, chip.model),
    };
    if chip.key_algorithm.is_empty() {
        name
    } else {
        format!("{name} · {} · {}", chip.key_algorithm, chip.evidence)
    }
}

/// Where the chip's latest region is, in words; plus the witness of a non-permitted point.
fn whereabouts(chip: &ChipReport) -> String {
    let mut s = match latest_region(chip) {
        Some((_, r))
            if r.circle_lat.is_finite()
                && r.circle_lon.is_finite()
                && r.circle_radius_m.is_finite() =>
        {
            format!(
                "within {:.0} km of {:.2}, {:.2}",
                r.circle_radius_m / 1000.0,
                r.circle_lat,
                r.circle_lon
            )
        }
        Some(_) => "region has invalid coordinates".to_owned(),
        None => "no feasible region".to_owned(),
    };
    if let Some(w) = chip.epochs.last().and_then(|e| e.witness.as_ref()) {
        let _ = write!(s, "; e.g. {} in {}", coord(w.lat, w.lon), w.region);
    }
    s
}

fn legend(h: &mut String) {
    h.push_str("<div class=\"legend\">");
    for (s, label) in [
        (ChipStatus::Verified, "verified chip region"),
        (ChipStatus::Violation, "violation"),
        (ChipStatus::Inconsistent, "inconsistent"),
        (ChipStatus::Invalid, "invalid"),
        (ChipStatus::Unverified, "unverified (dashed)"),
    ] {
        let _ = write!(
            h,
            "<span><i class=\"sw\" style=\"border-color:var(--{0});background:color-mix(in srgb,var(--{0}) 25%,white)\"></i>{label}</span>",
            status_class(s)
        );
    }
    h.push_str(
        "<span><i class=\"sw\" style=\"border-color:#a0313a;background:#f3c4c4\"></i>forbidden region</span>\
         <span><i class=\"sw\" style=\"border-color:#9aa0a6;background:#dcefdc\"></i>permitted region</span>\
         <span><svg width=\"14\" height=\"13\" viewBox=\"0 0 52 45\"><path d=\"M26 0l26 45H0z\" fill=\"#0b4f8a\"/></svg>landmark</span>\
         <span><svg width=\"14\" height=\"14\" viewBox=\"0 0 80 80\"><path d=\"M40 0l40 40-40 40L0 40z\" fill=\"#ff9f1c\" stroke=\"#6b2d00\" stroke-width=\"6\"/></svg>mispositioned landmark</span>",
    );
    h.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("a & \"b\""), "a &amp; &quot;b&quot;");
        assert_eq!(escape("plain ü 中"), "plain ü 中");
        assert_eq!(escape(""), "");
    }
}
