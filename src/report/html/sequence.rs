//! A flow as a sequence diagram: inline SVG with one lane per party (the
//! browser or client, the application, Entra ID, the Microsoft account
//! service, AD FS or another federation server, the MFA service) and one
//! arrow per hop, in order, as the waterfall draws its rows (MFA polls folded
//! into one hop per attempt).
//!
//! Each arrow is labelled with its step number, method, endpoint and status and
//! links to its row. A failing hop is red *and* says `✗ … FAILED`, so it does
//! not rest on colour alone. Text uses the page's fonts; nothing is loaded.

use std::fmt::Write as _;

use super::{badge_class, escape, Ctx, Hop};
use crate::findings::Severity;
use crate::identity::endpoints::HostRole;
use crate::identity::{Flow, MfaResult, Step};

/// The parties, left to right, in the order a sign-in usually meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Client,
    App,
    EntraId,
    Msa,
    Federation,
    Mfa,
}

impl Lane {
    fn title(self) -> &'static str {
        match self {
            Lane::Client => "Browser / client",
            Lane::App => "Application",
            Lane::EntraId => "Entra ID",
            Lane::Msa => "Microsoft account",
            Lane::Federation => "AD FS / federation",
            Lane::Mfa => "MFA service",
        }
    }
}

fn lane_of(s: &Step) -> Lane {
    if s.endpoint.is_some_and(|e| e.starts_with("sas_")) {
        return Lane::Mfa;
    }
    match s.role {
        Some(HostRole::Ests | HostRole::SeamlessSso) => Lane::EntraId,
        Some(HostRole::Msa) => Lane::Msa,
        Some(HostRole::Adfs) => Lane::Federation,
        _ => Lane::App,
    }
}

/// One arrow: where it goes, its label, the row it links to, and whether it failed.
struct Arrow {
    lane: Lane,
    label: String,
    target: String,
    failed: bool,
}

fn arrow(c: &Ctx, hop: &Hop) -> Arrow {
    match hop {
        Hop::Step(s) => {
            let findings = c.findings_of_step(s.id);
            let cls = badge_class(s.status, findings);
            let failed = matches!(cls.as_str(), "s4" | "s5" | "s0")
                || findings.iter().any(|f| f.severity == Severity::Error);
            let status = s
                .status
                .filter(|&st| st > 0)
                .map_or_else(|| "no response".to_string(), |st| st.to_string());
            Arrow {
                lane: lane_of(s),
                label: format!("{}. {} · {status}", s.id, c.t(&s.label())),
                target: format!("step-{}", s.id),
                failed,
            }
        }
        Hop::Mfa { attempt, polls } => {
            let first = polls.first().map_or(0, |s| s.id);
            Arrow {
                lane: Lane::Mfa,
                label: format!(
                    "{first}. MFA {}: {} poll(s) · {}",
                    c.t(attempt.method.as_deref().unwrap_or("unknown method")),
                    attempt.polls,
                    escape(&crate::report::snake_name(&attempt.result))
                ),
                target: format!("mfa-{}-{first}", attempt_flow(c, first)),
                failed: attempt.result != MfaResult::Approved,
            }
        }
    }
}

/// The flow a step belongs to (the MFA band's anchor names it).
fn attempt_flow(c: &Ctx, step: usize) -> usize {
    c.session
        .analysis
        .flow_of_step
        .get(step)
        .copied()
        .flatten()
        .unwrap_or(0)
}

const LANE_W: usize = 190;
const TOP: usize = 46;
const HOP_H: usize = 30;

/// Writes the diagram of `flow`, whose hops are `hops`.
pub(super) fn write(c: &Ctx, flow: &Flow, hops: &[Hop], out: &mut String) {
    let arrows: Vec<Arrow> = hops.iter().map(|h| arrow(c, h)).collect();
    let mut lanes: Vec<Lane> = arrows.iter().map(|a| a.lane).collect();
    lanes.push(Lane::Client);
    lanes.sort();
    lanes.dedup();
    let x = |lane: Lane| {
        let i = lanes.iter().position(|&l| l == lane).unwrap_or(0);
        LANE_W / 2 + i * LANE_W
    };
    // Three lanes at least, so a label is never cut at the right edge.
    let width = lanes.len().max(3) * LANE_W;
    let height = TOP + arrows.len() * HOP_H + 16;
    let failed = arrows.iter().filter(|a| a.failed).count();
    let _ = write!(
        out,
        "<h3>Sequence</h3>\n<div class=\"sequence\"><svg class=\"seq\" id=\"seq-{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" role=\"img\" aria-label=\"Sequence diagram of sign-in flow {n}: {hops} hop(s), {failed} failed\">\
<defs><marker id=\"ah-{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"head\"/></marker>\
<marker id=\"ahf-{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"head failed\"/></marker></defs>",
        id = flow.id,
        n = flow.id + 1,
        hops = arrows.len(),
    );
    for &lane in &lanes {
        let lx = x(lane);
        let _ = write!(
            out,
            "<g class=\"lane\"><text x=\"{lx}\" y=\"18\" text-anchor=\"middle\" class=\"lane-title\">{}</text><line x1=\"{lx}\" y1=\"28\" x2=\"{lx}\" y2=\"{}\"/></g>",
            lane.title(),
            height - 6
        );
    }
    for (i, a) in arrows.iter().enumerate() {
        let y = TOP + i * HOP_H + 14;
        let (from, to) = (x(Lane::Client), x(a.lane));
        // An arrow to the client's own lane (a local page) is a short loop.
        let to = if to == from {
            from + LANE_W / 3
        } else {
            to - 4
        };
        let (class, marker, text) = if a.failed {
            ("hop failed", "ahf", format!("✗ {} — FAILED", a.label))
        } else {
            ("hop", "ah", a.label.clone())
        };
        let _ = write!(
            out,
            "<g class=\"{class}\" data-target=\"{target}\"><a href=\"#{target}\"><title>{text}</title><line x1=\"{from}\" y1=\"{y}\" x2=\"{to}\" y2=\"{y}\" marker-end=\"url(#{marker}-{id})\"/><text x=\"{tx}\" y=\"{ty}\">{text}</text></a></g>",
            target = a.target,
            id = flow.id,
            tx = from + 8,
            ty = y - 5,
        );
    }
    out.push_str("</svg></div>\n");
}
