//! The whole-trace timeline of the HTML report: one lane per host, each
//! exchange a bar placed on the page's one time axis, which every flow's
//! waterfall shares (same ticks) and which ends at the trace's end. What the
//! page must show is computed from the analysis, then read off the page.

use std::collections::BTreeSet;
use std::path::Path;

use aadtrace::report::html;
use aadtrace::report::shown::Redactor;
use aadtrace::session::Session;

fn run(path: &Path) -> Session {
    crate::support::analyse(path)
}

/// Every sample HAR with its page.
fn pages() -> Vec<(String, Session, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("captures").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "har") {
            continue;
        }
        let session = run(&path);
        let page = html::render(&session, &Redactor::new(true));
        out.push((path.display().to_string(), session, page));
    }
    assert!(out.len() >= 5, "the samples are there");
    out
}

/// The value of `attr="…"` in `tag`.
fn attr<'a>(tag: &'a str, attr: &str) -> &'a str {
    let key = format!(" {attr}=\"");
    let from = tag
        .find(&key)
        .map(|i| i + key.len())
        .unwrap_or_else(|| panic!("no {attr} in {tag}"));
    &tag[from..from + tag[from..].find('"').unwrap()]
}

/// The opening tags that start with `open`.
fn tags<'a>(page: &'a str, open: &str) -> Vec<&'a str> {
    page.match_indices(open)
        .map(|(i, _)| &page[i..i + page[i..].find('>').unwrap()])
        .collect()
}

/// The lanes' section of the page.
fn lanes_section(page: &str) -> &str {
    let a = page
        .find("<section class=\"lanes\"")
        .expect("a host-lanes section");
    &page[a..a + page[a..].find("</section>").unwrap()]
}

#[test]
fn one_lane_per_host_one_bar_per_request() {
    for (name, session, page) in pages() {
        let section = lanes_section(&page);
        let steps = &session.analysis.steps;
        let hosts: BTreeSet<&str> = steps.iter().map(|s| s.host.as_str()).collect();
        let lanes = tags(section, "<div class=\"lane\" ");
        assert_eq!(lanes.len(), hosts.len(), "{name}: lanes");
        let bars = tags(section, "<a class=\"bar ");
        assert_eq!(bars.len(), steps.len(), "{name}: bars");
        let quiet = steps.iter().filter(|s| s.background || s.noise).count();
        let hatched = bars
            .iter()
            .filter(|b| attr(b, "class").split(' ').any(|c| c == "bg"))
            .count();
        assert_eq!(hatched, quiet, "{name}: background bars are marked");
        // Each bar links to a drawn row.
        for b in &bars {
            let href = attr(b, "href");
            assert!(
                page.contains(&format!("id=\"{}\"", &href[1..])),
                "{name}: {href} is drawn"
            );
        }
    }
}

#[test]
fn bars_sit_at_their_start_on_the_shared_axis() {
    for (name, session, page) in pages() {
        let a = &session.analysis;
        let start = a
            .steps
            .first()
            .map_or(a.trace_start_us, |s| s.started_us.min(a.trace_start_us));
        let span = ((a.trace_end_us - start) as f64).max(1000.0);
        for b in tags(lanes_section(&page), "<a class=\"bar ") {
            let id: usize = attr(b, "data-step").parse().unwrap();
            let style = attr(b, "style");
            let left: f64 = style["left:".len()..style.find('%').unwrap()]
                .parse()
                .unwrap();
            let want = ((a.steps[id].started_us - start) as f64 / span * 100.0).clamp(0.0, 100.0);
            assert!(
                (left - want).abs() < 0.01,
                "{name}: step {id} at {left}%, expected {want:.2}%"
            );
        }
        // Each flow's row of the same step sits at the same place.
        for flow in &a.flows {
            let Some(&i) = flow.steps.first() else {
                continue;
            };
            let row = page.find(&format!("<details class=\"row\" id=\"step-{i}\">"));
            let Some(row) = row else { continue };
            let bar = &page[row..];
            let bar = &bar[bar.find("<span class=\"bar ").unwrap()..];
            let style = attr(&bar[..bar.find('>').unwrap()], "style");
            let left: f64 = style["left:".len()..style.find('%').unwrap()]
                .parse()
                .unwrap();
            let want = ((a.steps[i].started_us - start) as f64 / span * 100.0).clamp(0.0, 100.0);
            assert!(
                (left - want).abs() < 0.01,
                "{name}: flow {} row {i} at {left}%",
                flow.id
            );
        }
    }
}

/// The scale row of the lanes and of every waterfall: the same ticks.
#[test]
fn flows_share_the_lanes_ticks_and_the_axis_ends_at_the_trace_end() {
    let mut flows = 0;
    for (name, session, page) in pages() {
        let scales: Vec<&str> = page
            .match_indices("<span class=\"scale\">")
            .map(|(i, _)| &page[i..i + page[i..].find("</span></span>").unwrap()])
            .collect();
        assert_eq!(
            scales.len(),
            session.analysis.flows.len() + 1,
            "{name}: one scale per waterfall and the lanes"
        );
        assert!(
            scales.iter().all(|s| *s == scales[0]),
            "{name}: every scale is the same"
        );
        flows += session.analysis.flows.len();
        // The last tick is within the trace: at most 100%.
        let last = scales[0].rfind("left:").unwrap();
        let pct: f64 = scales[0][last + 5..last + scales[0][last..].find('%').unwrap()]
            .parse()
            .unwrap();
        assert!(pct <= 100.0 && pct > 50.0, "{name}: last tick at {pct}%");
    }
    assert!(flows > 3, "some samples have flows");
}
