//! The whole-trace timeline: one lane per host, every exchange of the trace a
//! bar on the page's one time axis (the same start, scale and ticks as each
//! flow's waterfall, ending at the trace's end). Background and noise traffic
//! is drawn too, hatched, and a lane that carries only such traffic says so.
//!
//! Without script each bar is a link (to the step's row in its flow, or to its
//! row in "all requests") with its request as a tooltip; with it, report.js
//! shows the request of the bar under the pointer and opens its row on click.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{badge_class, requests::short_target, step_anchor, step_end, Ctx};
use crate::identity::Step;
use crate::report::time::time_of_day;

/// Writes the section (nothing for a trace without exchanges).
pub(super) fn write(c: &Ctx, out: &mut String) {
    let steps = &c.session.analysis.steps;
    if steps.is_empty() {
        return;
    }
    let lanes = lanes(steps);
    let _ = write!(
        out,
        "<section class=\"lanes\" id=\"lanes\">\n<h2>Whole trace: {n} host(s)</h2>\n\
<p class=\"muted lane-info\" id=\"lane-info\">Each bar is a request; hatched bars are background traffic. Point at a bar for its request.</p>\n\
<div class=\"lane-chart\" style=\"--tick:{tick:.3}%\">\n\
<div class=\"lane-axis\"><span>host</span><span class=\"scale\">{ticks}</span></div>\n",
        n = lanes.len(),
        tick = c.axis.tick_pct(),
        ticks = c.axis.ticks(),
    );
    for (host, ids) in &lanes {
        lane(c, host, ids, out);
    }
    out.push_str("</div>\n</section>\n");
}

/// The hosts in order of their first request, each with its steps.
fn lanes(steps: &[Step]) -> Vec<(&str, Vec<usize>)> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut lanes: Vec<(&str, Vec<usize>)> = Vec::new();
    for s in steps {
        let i = *at.entry(s.host.as_str()).or_insert_with(|| {
            lanes.push((s.host.as_str(), Vec::new()));
            lanes.len() - 1
        });
        lanes[i].1.push(s.id);
    }
    lanes
}

fn lane(c: &Ctx, host: &str, ids: &[usize], out: &mut String) {
    let steps = &c.session.analysis.steps;
    let quiet = |s: &Step| s.background || s.noise;
    let tag = if ids.iter().all(|&i| quiet(&steps[i])) {
        " <span class=\"tag\">background</span>"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<div class=\"lane\" data-host=\"{h}\"><span class=\"lane-host\" title=\"{h}\">{h}{tag}</span><span class=\"track\">",
        h = c.t(host),
    );
    for &i in ids {
        bar(c, &steps[i], quiet(&steps[i]), out);
    }
    out.push_str("</span></div>\n");
}

/// One exchange: a link to where its request is shown, titled with it.
fn bar(c: &Ctx, s: &Step, quiet: bool, out: &mut String) {
    let target = step_anchor(c, s.id);
    let status = s
        .status
        .filter(|&st| st > 0)
        .map_or_else(|| "no response".to_string(), |st| st.to_string());
    let _ = write!(
        out,
        "<a class=\"bar {cls}{bg}\" href=\"#{target}\" data-step=\"{id}\" style=\"{style}\" title=\"#{id} {time} {method} {host}{path} → {status}\"></a>",
        cls = badge_class(s.status, c.findings_of_step(s.id)),
        bg = if quiet { " bg" } else { "" },
        id = s.id,
        style = c.axis.style(s.started_us, step_end(s)),
        time = time_of_day(s.started_us),
        method = c.t(&s.method),
        host = c.t(&s.host),
        path = short_target(c, s),
    );
}
