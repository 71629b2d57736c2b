//! "All requests": every exchange of the trace in one table, background and
//! noise traffic included and marked, with its host, status, flow and
//! findings. A plain table without script; with it, report.js sorts it by a
//! column and filters it by host, status, finding severity and a text search
//! (which also matches the step's correlation, request and client-request ids).
//!
//! A step drawn in a flow links to its row there; any other step carries its
//! own expandable request and response, so every request is one click away.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{
    badge_class, escape, exchange, intrinsic_size, marks, url_head, Ctx, Part, ROWS_PER_BATCH,
};
use crate::findings::Severity;
use crate::identity::Step;
use crate::report::time::time_of_day;

/// Writes the section, its rows rendered a batch at a time on every core;
/// `keep` takes each run's deferred details, in order.
pub(super) fn write(
    c: &Ctx,
    out: &mut impl std::io::Write,
    keep: &mut impl FnMut(&mut Part),
) -> std::io::Result<()> {
    let steps = &c.session.analysis.steps;
    if steps.is_empty() {
        return Ok(());
    }
    let mut head = String::new();
    let hosts: BTreeSet<&str> = steps.iter().map(|s| s.host.as_str()).collect();
    let _ = write!(
        head,
        "<section class=\"requests\" id=\"requests\" style=\"{size}\">\n<h2>All requests ({n})</h2>\n\
<div id=\"req-controls\" class=\"controls\" hidden>\
<label>host <select id=\"req-host\"><option value=\"\">all hosts ({hosts})</option></select></label>\
<label>status <select id=\"req-status\"><option value=\"\">any</option><option value=\"2\">2xx</option><option value=\"3\">3xx</option><option value=\"4\">4xx</option><option value=\"5\">5xx</option><option value=\"0\">no response</option></select></label>\
<label>finding <select id=\"req-sev\"><option value=\"\">any</option><option value=\"error\">error</option><option value=\"warning\">warning</option><option value=\"info\">info</option><option value=\"some\">any finding</option><option value=\"none\">none</option></select></label>\
<label>search <input type=\"search\" id=\"req-search\" placeholder=\"text, correlation id…\"></label>\
<span class=\"muted\" id=\"req-count\"></span></div>\n\
<div class=\"table-wrap\"><table class=\"requests\" id=\"req-table\"><thead><tr>\
<th data-sort=\"num\">#</th><th data-sort=\"text\">time (UTC)</th><th data-sort=\"text\">host</th><th data-sort=\"text\">request</th><th data-sort=\"num\">status</th><th data-sort=\"text\">flow</th><th data-sort=\"text\">findings</th></tr></thead><tbody>\n",
        n = steps.len(),
        size = intrinsic_size(steps.len()),
        hosts = hosts.len(),
    );
    out.write_all(head.as_bytes())?;
    crate::report::write_in_batches_then(
        out,
        steps,
        ROWS_PER_BATCH,
        |_, steps, _: &mut (), part: &mut Part| {
            for s in steps {
                row(c, s, part);
            }
            Ok(())
        },
        keep,
    )?;
    out.write_all(b"</tbody></table></div>\n</section>\n")
}

/// Longest request target shown in the table; the step's detail has it whole.
const MAX_TARGET: usize = 96;

/// The redacted URL without scheme and host (the host has its own column),
/// cut to [`MAX_TARGET`] characters after redaction.
pub(super) fn short_target(c: &Ctx, s: &Step) -> String {
    // A huge URL is cut before it is redacted, as everywhere on the page.
    let url = c.r.url(url_head(&s.url));
    let target = url.split_once("://").map_or(url.as_ref(), |(_, rest)| {
        rest.find('/').map_or("/", |i| &rest[i..])
    });
    let shown: String = target.chars().take(MAX_TARGET).collect();
    let more = if shown.len() < target.len() {
        "…"
    } else {
        ""
    };
    format!(
        "{}{more}",
        escape(&crate::report::shown::terminal_safe(&shown))
    )
}

/// The worst severity among a step's findings, or `none`.
fn worst(c: &Ctx, s: &Step) -> &'static str {
    let f = c.findings_of_step(s.id);
    [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .find(|sev| f.iter().any(|g| g.severity == *sev))
        .map_or("none", |sev| sev.name())
}

fn row(c: &Ctx, s: &Step, part: &mut Part) {
    let findings = c.findings_of_step(s.id);
    let status = s.status.filter(|&st| st > 0);
    let flow = c.session.analysis.flow_of_step.get(s.id).copied().flatten();
    let tag = if s.noise {
        " <span class=\"tag\">noise</span>"
    } else if s.background {
        " <span class=\"tag\">background</span>"
    } else if flow.is_none() {
        " <span class=\"tag\">outside flows</span>"
    } else {
        ""
    };
    let ids: Vec<&str> = [&s.correlation_id, &s.request_id, &s.client_request_id]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let request = format!(
        "{} <code title=\"{host}\">{}</code>{tag}",
        escape(&s.method),
        short_target(c, s),
        host = c.t(&s.host),
    );
    let request = match flow {
        Some(_) => format!("<a href=\"#step-{}\">{request}</a>", s.id),
        None => {
            let mut detail = format!("<details class=\"inline\"><summary>{request}</summary>");
            c.detail(s.id, &mut detail, &mut part.deferred, |out| {
                exchange::write(c, s, out)
            });
            detail.push_str("</details>");
            detail
        }
    };
    let _ = writeln!(
        part.html,
        "<tr id=\"req-{id}\" data-host=\"{host}\" data-status=\"{status_num}\" data-sev=\"{sev}\" data-ids=\"{ids}\"{bg}><td class=\"num\">{id}</td><td class=\"t\">{time}</td><td class=\"host\">{host}</td><td class=\"req\">{request}</td><td><span class=\"status {cls}\">{status}</span></td><td>{flow}</td><td>{marks}</td></tr>",
        host = c.t(&s.host),
        status_num = status.unwrap_or(0),
        sev = worst(c, s),
        ids = c.t(&ids.join(" ")),
        bg = if s.noise || s.background { " class=\"bg\"" } else { "" },
        id = s.id,
        time = time_of_day(s.started_us),
        cls = badge_class(s.status, findings),
        status = status.map_or_else(|| "—".to_string(), |st| st.to_string()),
        flow = flow.map_or_else(|| "—".to_string(), |f| format!("<a href=\"#flow-{f}\">{}</a>", f + 1)),
        marks = marks(c, findings),
    );
}
