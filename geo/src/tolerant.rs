//! Verdicts that hold whatever up to `f` faulty landmark operators sign (DESIGN §1a, §4).
//!
//! Caps come in groups, one group per operator. A point p is *possible* when the caps that
//! exclude it come from at most `f` operators; `F_f` is the set of possible points (`F_0` is
//! the plain intersection). With `n` operators whose caps constrain anything, `F_f` is exactly
//! the union, over every subset S of `n − f` of them, of the intersection of S's caps: a point
//! excluded by at most `f` operators lies in every cap of the other `n − f` or more, and a
//! point of such an intersection is excluded by at most the `f` operators outside S. An operator
//! whose caps all reach a hemisphere constrains nothing and is left out; with `n ≤ f` the
//! union is the whole Earth.
//!
//! Each term of the union is a plain intersection, judged by [`evaluate`] with all its
//! guarantees (every approximation moves toward `inconclusive`). The union is then:
//! `compliant` iff some term is non-empty and every non-empty term is compliant; `violation`
//! iff every non-empty term is a violation; `inconsistent` iff every term is empty; otherwise
//! `inconclusive`, with a witness point of `F_f` that is not allowed.

use super::error::GeoError;
use super::policy::Policy;
use super::region::{constrains, feasible_region_summary, Cap, RegionSummary};
use super::verdict::{evaluate, Verdict, VerdictKind, Witness};
use super::world::World;

/// The largest `f` this engine evaluates (the number of terms grows as `C(n, f)`).
pub const MAX_FAULTY_OPERATORS: usize = 3;

/// The verdict on `F_f` and what a report needs to know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct TolerantVerdict {
    /// The verdict on `F_f`; for `inconclusive`, the witness is a point of `F_f` (or within
    /// the border margin of it) that is not allowed.
    pub verdict: Verdict,
    /// The `f` it was computed for.
    pub faulty: usize,
    /// Operators whose caps constrain anything (a cap of a hemisphere or more does not).
    pub constraining: usize,
    /// A circle containing all of `F_f`, unless `F_f` is empty or may be anywhere.
    pub enclosing: Option<Cap>,
}

/// Judges `F_f` for `groups` (the caps of each operator) and `faulty` = f.
pub fn evaluate_tolerant(
    world: &World,
    policy: &Policy,
    groups: &[Vec<Cap>],
    faulty: usize,
) -> Result<TolerantVerdict, GeoError> {
    if faulty > MAX_FAULTY_OPERATORS {
        return Err(GeoError::Policy(format!(
            "faulty_operators = {faulty}: at most {MAX_FAULTY_OPERATORS} are supported"
        )));
    }
    for c in groups.iter().flatten() {
        c.validate()?;
    }
    let active: Vec<&Vec<Cap>> = groups.iter().filter(|g| g.iter().any(constrains)).collect();
    let n = active.len();
    if n <= faulty {
        // Fewer than f + 1 operators constrain: F_f is the whole Earth.
        let verdict = evaluate(world, policy, &[])?;
        return Ok(TolerantVerdict {
            verdict,
            faulty,
            constraining: n,
            enclosing: None,
        });
    }
    let mut union = Union::default();
    let mut settled = false;
    for subset in Combinations::new(n, n - faulty) {
        let caps: Vec<Cap> = subset
            .iter()
            .filter_map(|&i| active.get(i))
            .flat_map(|g| g.iter().copied())
            .collect();
        // Every term's region goes into the enclosing circle, also after the verdict is
        // settled: a circle that missed a term could miss the chip (impossible travel).
        let summary = feasible_region_summary(&caps)?;
        let empty = summary.is_none();
        union.summaries.push(summary);
        if !settled && !empty {
            settled = union.add(evaluate(world, policy, &caps)?);
        }
    }
    Ok(TolerantVerdict {
        enclosing: union.enclosing(),
        verdict: union.finish(world, policy),
        faulty,
        constraining: n,
    })
}

/// The verdict on `F_f` for `faulty` = f, and the robustness: the largest f' ≤
/// [`MAX_FAULTY_OPERATORS`] for which `F_f'` is compliant (`None` if not even `F_0` is).
/// Searches up from f when `F_f` is compliant, else down, so it costs little more than the
/// verdict itself when `F_f` is not compliant.
pub fn judge_with_robustness(
    world: &World,
    policy: &Policy,
    groups: &[Vec<Cap>],
    faulty: usize,
) -> Result<(TolerantVerdict, Option<usize>), GeoError> {
    let (v, at_least) = judge_with_robustness_below(world, policy, groups, faulty)?;
    if v.verdict.kind == VerdictKind::Compliant {
        let best = robustness_above(world, policy, groups, faulty, v.constraining)?;
        return Ok((v, Some(best)));
    }
    Ok((v, at_least))
}

/// Like [`judge_with_robustness`], but for a compliant `F_f` the robustness returned is only
/// the lower bound f (no search above it): for epochs whose exact robustness nobody reads.
pub fn judge_with_robustness_below(
    world: &World,
    policy: &Policy,
    groups: &[Vec<Cap>],
    faulty: usize,
) -> Result<(TolerantVerdict, Option<usize>), GeoError> {
    let v = evaluate_tolerant(world, policy, groups, faulty)?;
    if v.verdict.kind == VerdictKind::Compliant {
        return Ok((v, Some(faulty)));
    }
    for f in (0..faulty).rev() {
        if evaluate_tolerant(world, policy, groups, f)?.verdict.kind == VerdictKind::Compliant {
            return Ok((v, Some(f)));
        }
    }
    Ok((v, None))
}

/// For `groups` compliant at `faulty`: the largest f ≥ `faulty` (≤ [`MAX_FAULTY_OPERATORS`],
/// < `constraining`) that stays compliant.
pub fn robustness_above(
    world: &World,
    policy: &Policy,
    groups: &[Vec<Cap>],
    faulty: usize,
    constraining: usize,
) -> Result<usize, GeoError> {
    let mut best = faulty;
    for f in faulty + 1..=MAX_FAULTY_OPERATORS {
        if constraining <= f {
            break;
        }
        // F_f only grows with f, and it is non-empty here: stop at the first non-compliant.
        if evaluate_tolerant(world, policy, groups, f)?.verdict.kind != VerdictKind::Compliant {
            break;
        }
        best = f;
    }
    Ok(best)
}

/// The largest f ≤ `max_f` (and ≤ [`MAX_FAULTY_OPERATORS`]) for which `F_f` is compliant, or
/// `None` if `F_0` is not: "the verdict holds with any f operators lying".
pub fn robustness(
    world: &World,
    policy: &Policy,
    groups: &[Vec<Cap>],
    max_f: usize,
) -> Result<Option<usize>, GeoError> {
    let mut best = None;
    for f in 0..=max_f.min(MAX_FAULTY_OPERATORS) {
        let v = evaluate_tolerant(world, policy, groups, f)?;
        match v.verdict.kind {
            VerdictKind::Compliant => best = Some(f),
            // F_f grows with f: once it holds a point that is not allowed, so do all larger.
            VerdictKind::Violation | VerdictKind::Inconclusive => break,
            // Empty for this f; a larger f may drop the contradiction.
            VerdictKind::Inconsistent => {}
        }
        if v.constraining <= f {
            break;
        }
    }
    Ok(best)
}

/// The running combination of term verdicts.
#[derive(Default)]
struct Union {
    compliant: bool,
    violation: Option<Verdict>,
    inconclusive: Option<Verdict>,
    point: Option<(f64, f64)>,
    summaries: Vec<Option<RegionSummary>>,
}

impl Union {
    /// Adds one term; true once the union is certainly `inconclusive` (the rest cannot change
    /// it).
    fn add(&mut self, term: Verdict) -> bool {
        if self.point.is_none() {
            self.point = term.point;
        }
        match term.kind {
            VerdictKind::Compliant => self.compliant = true,
            VerdictKind::Violation => {
                self.violation.get_or_insert(term);
            }
            VerdictKind::Inconclusive => {
                // Prefer a witness inside F itself over one within the border margin.
                let better = self
                    .inconclusive
                    .as_ref()
                    .is_none_or(|v| !v.witness.as_ref().is_some_and(|w| w.in_region));
                if better {
                    self.inconclusive = Some(term);
                }
            }
            VerdictKind::Inconsistent => {}
        }
        let in_region = |v: &Option<Verdict>| {
            v.as_ref()
                .and_then(|v| v.witness.as_ref())
                .is_some_and(|w| w.in_region)
        };
        in_region(&self.inconclusive) || (self.compliant && self.violation.is_some())
    }

    fn finish(self, world: &World, policy: &Policy) -> Verdict {
        let inconclusive = |witness: Option<Witness>, point| Verdict {
            kind: VerdictKind::Inconclusive,
            witness,
            point,
        };
        if let Some(v) = self.inconclusive {
            return inconclusive(v.witness, self.point);
        }
        match (self.compliant, self.violation) {
            (true, Some(v)) => {
                // A violation term's representative point is in F_f and not allowed.
                let witness = v.point.map(|(lat, lon)| Witness {
                    lat,
                    lon,
                    region: policy
                        .classify(world, lat, lon)
                        .1
                        .unwrap_or("sea")
                        .to_owned(),
                    in_region: true,
                });
                inconclusive(witness, self.point)
            }
            (true, None) => Verdict {
                kind: VerdictKind::Compliant,
                witness: None,
                point: self.point,
            },
            (false, Some(v)) => Verdict {
                kind: VerdictKind::Violation,
                witness: None,
                point: v.point,
            },
            (false, None) => Verdict {
                kind: VerdictKind::Inconsistent,
                witness: None,
                point: None,
            },
        }
    }

    /// A circle around every non-empty term's enclosing circle: centred on the first term's
    /// representative point, radius the farthest reach of any term (distances bounded from
    /// above, so the circle contains F_f).
    fn enclosing(&self) -> Option<Cap> {
        let terms: Vec<&RegionSummary> = self.summaries.iter().flatten().collect();
        let first = terms.first()?;
        let mut radius = 0.0f64;
        for t in &terms {
            let e = &t.enclosing;
            if !e.radius_m.is_finite() {
                return None;
            }
            let d = geodesic_upper_bound_m((first.lat, first.lon), (e.center_lat, e.center_lon));
            radius = radius.max(d + e.radius_m);
        }
        Some(Cap {
            center_lat: first.lat,
            center_lon: first.lon,
            radius_m: radius,
        })
    }
}

/// An upper bound on the WGS84 geodesic distance between two points, metres: the spherical
/// distance on the mean radius under-estimates the geodesic by at most 0.45 % (the ratio spans
/// 0.9955–1.0057), so divide by 0.9955 and add a metre for rounding.
pub fn geodesic_upper_bound_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    let central = 2.0 * h.sqrt().min(1.0).asin();
    central * 6_371_008.8 / 0.9955 + 1.0
}

/// Every k-subset of `0..n`, in lexicographic order.
struct Combinations {
    n: usize,
    current: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Self {
        Combinations {
            n,
            current: (k <= n).then(|| (0..k).collect()),
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let out = self.current.clone()?;
        let k = out.len();
        let mut next = out.clone();
        // The rightmost position that can still move right.
        let movable = (0..k).rev().find(|&i| next[i] < self.n - k + i);
        self.current = movable.map(|i| {
            next[i] += 1;
            for j in i + 1..k {
                next[j] = next[j - 1] + 1;
            }
            next
        });
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_all_k_subsets() {
        assert_eq!(Combinations::new(4, 2).count(), 6);
        assert_eq!(Combinations::new(12, 10).count(), 66);
        assert_eq!(
            Combinations::new(3, 3).collect::<Vec<_>>(),
            vec![vec![0, 1, 2]]
        );
        assert_eq!(
            Combinations::new(3, 0).collect::<Vec<_>>(),
            vec![Vec::<usize>::new()]
        );
        assert_eq!(Combinations::new(2, 3).count(), 0);
    }

    fn policy() -> Policy {
        Policy::from_toml_str("permitted = [\"*\"]\nforbidden = [\"CN\"]").unwrap()
    }

    const FRANKFURT: (f64, f64) = (50.1109, 8.6821);
    const PARIS: (f64, f64) = (48.8566, 2.3522);

    fn cap(at: (f64, f64), km: f64) -> Cap {
        Cap::new(at.0, at.1, km * 1000.0).unwrap()
    }

    #[test]
    fn one_operator_alone_proves_nothing_at_f1() {
        let world = World::embedded();
        let groups = vec![vec![cap(FRANKFURT, 100.0)]];
        let v0 = evaluate_tolerant(world, &policy(), &groups, 0).unwrap();
        assert_eq!(v0.verdict.kind, VerdictKind::Compliant);
        let v1 = evaluate_tolerant(world, &policy(), &groups, 1).unwrap();
        assert_eq!(v1.verdict.kind, VerdictKind::Inconclusive);
        assert!(v1.verdict.witness.is_some());
        assert_eq!(robustness(world, &policy(), &groups, 3).unwrap(), Some(0));
    }

    #[test]
    fn two_operators_each_proving_it_hold_at_f1() {
        let world = World::embedded();
        let groups = vec![vec![cap(FRANKFURT, 300.0)], vec![cap(PARIS, 600.0)]];
        let v = evaluate_tolerant(world, &policy(), &groups, 1).unwrap();
        assert_eq!(v.verdict.kind, VerdictKind::Compliant);
        assert_eq!(v.constraining, 2);
        assert_eq!(robustness(world, &policy(), &groups, 3).unwrap(), Some(1));
        let e = v.enclosing.unwrap();
        assert!(e.radius_m >= 600_000.0);
    }

    #[test]
    fn hemisphere_caps_do_not_count_as_operators() {
        let world = World::embedded();
        // The second operator's cap exceeds a hemisphere: it constrains nothing.
        let groups = vec![vec![cap(FRANKFURT, 300.0)], vec![cap(PARIS, 15_000.0)]];
        let v = evaluate_tolerant(world, &policy(), &groups, 1).unwrap();
        assert_eq!(v.constraining, 1);
        assert_eq!(v.verdict.kind, VerdictKind::Inconclusive);
    }

    /// The enclosing circle covers every term, also the ones after the verdict was settled: a
    /// liar's term that settles `inconclusive` first must not leave the honest term (and the
    /// chip) outside the circle that impossible-travel checks use.
    #[test]
    fn the_enclosing_circle_covers_every_term() {
        let world = World::embedded();
        let seoul = (37.5665, 126.9780);
        let groups = vec![
            vec![cap((43.24, 76.89), 350.0)], // the liar: Almaty, straddling KZ/CN
            vec![cap(FRANKFURT, 8_700.0)],
            vec![cap((35.6762, 139.6503), 1_250.0)], // Tokyo
        ];
        let v = evaluate_tolerant(world, &policy(), &groups, 1).unwrap();
        assert_eq!(v.verdict.kind, VerdictKind::Inconclusive);
        let e = v.enclosing.unwrap();
        let d = geodesic_upper_bound_m((e.center_lat, e.center_lon), seoul);
        assert!(
            d <= e.radius_m,
            "Seoul {d} m from the centre, radius {} m",
            e.radius_m
        );
    }

    #[test]
    fn a_lone_liar_makes_f0_inconsistent_and_f1_tolerates_it() {
        let world = World::embedded();
        let beijing = (39.9042, 116.4074);
        let groups = vec![
            vec![cap(FRANKFURT, 50.0)], // the liar
            vec![cap(beijing, 100.0)],
            vec![cap((31.2304, 121.4737), 1_300.0)], // Shanghai
        ];
        let v0 = evaluate_tolerant(world, &policy(), &groups, 0).unwrap();
        assert_eq!(v0.verdict.kind, VerdictKind::Inconsistent);
        let v1 = evaluate_tolerant(world, &policy(), &groups, 1).unwrap();
        // Every term with the liar is empty; the honest pair puts the chip in China.
        assert_eq!(v1.verdict.kind, VerdictKind::Violation);
    }
}
