//! The HTML report's request and response detail, sequence diagrams and
//! "all requests" table, checked on the page's text: every secret of every
//! sample stays out of the page unless `--unsafe-show-secrets`, each step
//! expands to its headers, cookies and fields, and each flow's diagram has one
//! arrow per waterfall row with the failing hop marked.

use std::collections::BTreeSet;
use std::path::Path;

use aadtrace::report::html;
use aadtrace::report::shown::{cookie_is_kept, Redactor};
use aadtrace::session::Session;
use serde_json::Value;

fn run(path: &Path) -> Session {
    crate::support::analyse_with_detail(path)
}

fn render(name: &str, redact: bool) -> (Session, String) {
    render_as(name, redact, html::Details::Auto)
}

fn render_as(name: &str, redact: bool, details: html::Details) -> (Session, String) {
    let session = run(Path::new(&format!("captures/{name}.har")));
    let page = html::render_page(
        &session,
        &Redactor::new(redact),
        html::Page {
            nonce: "NONCE",
            details,
        },
    );
    (session, page)
}

/// HTML-escaped as the page writes text.
fn esc(s: &str) -> String {
    html::escape(s)
}

/// Secrets a HAR holds: the samples' password, values of cookies that are not
/// kept routing hints, bearer credentials, and every JWT.
fn secrets_of(har: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::from(["Sample-Passw0rd!".to_string()]);
    let entries = har["log"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for e in &entries {
        for side in ["request", "response"] {
            for c in e[side]["cookies"].as_array().into_iter().flatten() {
                let (name, value) = (
                    c["name"].as_str().unwrap_or(""),
                    c["value"].as_str().unwrap_or(""),
                );
                if !cookie_is_kept(name) && value.len() >= 12 {
                    found.insert(value.to_string());
                }
            }
            for h in e[side]["headers"].as_array().into_iter().flatten() {
                let name = h["name"].as_str().unwrap_or("").to_ascii_lowercase();
                let value = h["value"].as_str().unwrap_or("");
                if name == "authorization" {
                    if let Some((_, cred)) = value.split_once(' ') {
                        found.insert(cred.to_string());
                    }
                }
                if name == "cookie" {
                    for part in value.split(';') {
                        if let Some((n, v)) = part.trim().split_once('=') {
                            if !cookie_is_kept(n) && v.len() >= 12 {
                                found.insert(v.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
    let text = har.to_string();
    for (at, _) in text.match_indices("eyJ") {
        let jwt: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if jwt.matches('.').count() >= 2 && jwt.len() > 40 {
            found.insert(jwt);
        }
    }
    // A cookie can repeat an identifier the reports keep on purpose (MSA's
    // `uaid` cookie is the request id the URL carries): ids are not secrets.
    found.retain(|s| !s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
    found
}

#[test]
fn no_secret_of_a_sample_appears_unless_unsafe() {
    let mut shown_when_unsafe = 0;
    for name in [
        "clean-signin",
        "adfs-federated",
        "mfa-timeout-then-success",
        "mfa-abandoned-500121",
        "msa-handoff-70012",
        "redirect-loop",
        "token-errors-devicecode",
    ] {
        let har: Value =
            serde_json::from_slice(&std::fs::read(format!("captures/{name}.har")).unwrap())
                .unwrap();
        let secrets = secrets_of(&har);
        assert!(
            secrets.len() > 1,
            "{name}: the sample has secrets to look for"
        );
        let (_, safe) = render(name, true);
        let (_, deferred) = render_as(name, true, html::Details::Deferred);
        let (_, unsafe_page) = render(name, false);
        for s in &secrets {
            for form in [s.clone(), esc(s)] {
                assert!(
                    !safe.contains(&form) && !deferred.contains(&form),
                    "{name}: a secret is on the page: {s}"
                );
            }
            if unsafe_page.contains(&esc(s)) {
                shown_when_unsafe += 1;
            }
        }
    }
    // The same values are on the page when secrets are shown: the search
    // above looks for what the page would print.
    assert!(shown_when_unsafe > 10, "{shown_when_unsafe}");
    let (_, unsafe_page) = render("clean-signin", false);
    assert!(unsafe_page.contains("Sample-Passw0rd!"));
}

/// The text between `<details class="row" id="step-{id}">` and its end.
fn row(page: &str, id: usize) -> &str {
    let start = page
        .find(&format!("<details class=\"row\" id=\"step-{id}\">"))
        .unwrap_or_else(|| panic!("no row for step {id}"));
    let len = page[start..].find("</details>\n").unwrap();
    &page[start..start + len]
}

#[test]
fn a_step_expands_to_its_request_and_response() {
    let (session, page) = render("mfa-timeout-then-success", true);
    let steps = &session.analysis.steps;
    let login = steps
        .iter()
        .find(|s| s.endpoint == Some("login") && s.method == "POST")
        .unwrap();
    let r = row(&page, login.id);
    for part in [
        "Request headers (",
        "Response headers (",
        "Cookies sent (",
        "Request body (",
        "Timing",
        "Facts aadtrace extracted",
    ] {
        assert!(r.contains(part), "POST login lacks {part}");
    }
    // The password field is listed, masked.
    assert!(
        r.contains("<td><code>passwd</code></td><td><code>[redacted]</code></td>"),
        "{r}"
    );
    assert!(r.contains("ESTSAUTH") || r.contains("buid"), "{r}");
    assert!(r.contains("=[redacted]") || r.contains("<code>[redacted]</code>"));

    // The authorize request's query is a table.
    let authorize = steps
        .iter()
        .find(|s| s.endpoint == Some("authorize"))
        .unwrap();
    let r = row(&page, authorize.id);
    assert!(r.contains("Query parameters ("), "{r}");
    assert!(r.contains("<td><code>client_id</code></td>"));

    // Set-Cookie with its attributes, its value masked.
    let with_set_cookie = steps
        .iter()
        .filter(|s| {
            session
                .analysis
                .flow_of_step
                .get(s.id)
                .copied()
                .flatten()
                .is_some()
        })
        .find(|s| {
            s.detail.as_ref().is_some_and(|d| {
                d.response_headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.contains("ESTSAUTH"))
            })
        });
    if let Some(s) = with_set_cookie {
        if page.contains(&format!("<details class=\"row\" id=\"step-{}\">", s.id)) {
            let r = row(&page, s.id);
            assert!(r.contains("Set-Cookie ("), "{r}");
            assert!(r.contains("<th>SameSite</th>"));
        }
    }
}

#[test]
fn set_cookie_attributes_are_a_table() {
    let mut seen = false;
    for name in ["clean-signin", "adfs-federated", "redirect-loop"] {
        let (_, page) = render(name, true);
        if let Some(i) = page.find("Set-Cookie (") {
            seen = true;
            let table = &page[i..i + page[i..].find("</table>").unwrap()];
            assert!(table.contains("<th>Domain</th><th>Path</th><th>SameSite</th><th>Secure</th>"));
            assert!(
                table.contains("[redacted]") || !table.contains("ESTS"),
                "{table}"
            );
        }
    }
    assert!(seen, "no sample has a Set-Cookie");
}

/// The flow section of `page` with this id.
fn section(page: &str, flow: usize) -> &str {
    let start = page
        .find(&format!("<section class=\"flow\" id=\"flow-{flow}\""))
        .unwrap();
    let len = page[start..].find("</section>").unwrap();
    &page[start..start + len]
}

#[test]
fn each_flow_has_a_sequence_diagram_with_one_arrow_per_row() {
    for name in [
        "mfa-timeout-then-success",
        "adfs-federated",
        "msa-handoff-70012",
        "clean-signin",
        "redirect-loop",
    ] {
        let (session, page) = render(name, true);
        for flow in &session.analysis.flows {
            let s = section(&page, flow.id);
            let rows = s.matches("<details class=\"row\"").count()
                + s.matches("<details class=\"band\"").count();
            let arrows = s.matches("<g class=\"hop").count();
            assert_eq!(arrows, rows, "{name} flow {}", flow.id);
            assert!(s.contains("<svg class=\"seq\""));
            // Every failed hop says so in text, not in colour alone.
            assert_eq!(
                s.matches("<g class=\"hop failed\"").count(),
                s.matches("— FAILED</text>").count()
            );
        }
    }
    // The MFA timeout is the one failed hop of its flow; the Seamless SSO
    // 401, judged by an info finding only, is not.
    let (_, page) = render("mfa-timeout-then-success", true);
    let s = section(&page, 0);
    assert_eq!(s.matches("<g class=\"hop failed\"").count(), 1, "{s}");
    let failed = &s[s.find("<g class=\"hop failed\"").unwrap()..];
    assert!(failed.contains("PhoneAppNotification: 32 poll(s) · timeout — FAILED"));
    assert!(s.contains("Browser / client") && s.contains("MFA service"));
    // AD FS has its lane.
    let (_, page) = render("adfs-federated", true);
    assert!(section(&page, 0).contains(">AD FS / federation</text>"));
    // The MSA hand-off's failing hop is the one that carried AADSTS70012.
    let (_, page) = render("msa-handoff-70012", true);
    let s = section(&page, 0);
    assert!(
        s.contains("✗ 11. POST federation_msa · 302 — FAILED"),
        "{s}"
    );
    assert!(s.contains(">Microsoft account</text>"));
}

#[test]
fn all_requests_lists_every_exchange_with_its_host() {
    let (session, page) = render("mfa-timeout-then-success", true);
    let start = page
        .find("<section class=\"requests\" id=\"requests\"")
        .unwrap();
    let table = &page[start..];
    let steps = &session.analysis.steps;
    assert_eq!(table.matches("<tr id=\"req-").count(), steps.len());
    for s in steps {
        // Each row has an id the host lanes link to.
        assert!(table.contains(&format!("<tr id=\"req-{}\" data-host=\"{}\"", s.id, s.host)));
    }
    let background = steps.iter().filter(|s| s.noise || s.background).count();
    assert!(background > 0);
    assert_eq!(table.matches(" class=\"bg\"><td").count(), background);
    // A step outside the flows carries its own detail; one inside links to its row.
    assert!(table.contains("<details class=\"inline\">"));
    assert!(table.contains("<a href=\"#step-1\">"));
}

/// A step's expanded timing lists each phase its HAR entry recorded (blocked,
/// dns, connect, ssl, send, wait, receive; `-1` is left out), read from the HAR.
#[test]
fn timing_shows_the_har_phases() {
    let name = "mfa-timeout-then-success";
    let (session, page) = render(name, true);
    let har: Value =
        serde_json::from_slice(&std::fs::read(format!("captures/{name}.har")).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    let mut checked = 0;
    for flow in &session.analysis.flows {
        for &i in &flow.steps {
            let s = &session.analysis.steps[i];
            let start = format!("<details class=\"row\" id=\"step-{}\">", s.id);
            if !page.contains(&start) {
                continue; // an MFA poll, folded into its band
            }
            let r = row(&page, s.id);
            let timings = &entries[s.origin_index as usize]["timings"];
            for phase in [
                "blocked", "dns", "connect", "ssl", "send", "wait", "receive",
            ] {
                let ms = timings[phase].as_f64().unwrap_or(-1.0);
                let label = match phase {
                    "ssl" => "ssl (TLS, part of connect)",
                    "wait" => "wait (time to first byte)",
                    p => p,
                };
                // Phases are kept as f32 (a few numbers per exchange).
                let kept = f64::from(ms as f32);
                let shown = format!("<tr><td>{label}</td><td>{kept:.1} ms</td></tr>");
                assert_eq!(
                    r.contains(&shown),
                    (0.0..1000.0).contains(&ms),
                    "step {}: {phase} {ms}",
                    s.id
                );
                checked += usize::from(ms >= 0.0);
            }
        }
    }
    assert!(checked > 20, "{checked} phases checked");
}

/// Each step's `<div class="detail">…</div>` body of an inline page, by its
/// order (an MFA band's list of polls is not a step's and stays inline).
fn inline_details(page: &str) -> Vec<&str> {
    page.split("<div class=\"detail\">")
        .skip(1)
        .map(|rest| {
            // A detail holds no nested `div`.
            &rest[..rest.find("</div>").expect("a detail ends")]
        })
        .filter(|body| !body.contains("class=\"polls-list\""))
        .collect()
}

#[test]
fn deferred_details_are_the_inline_ones_kept_as_inert_text() {
    for name in [
        "mfa-timeout-then-success",
        "adfs-federated",
        "msa-handoff-70012",
    ] {
        let (session, inline) = render_as(name, true, html::Details::Inline);
        let (_, deferred) = render_as(name, true, html::Details::Deferred);
        let bodies = inline_details(&inline);
        assert!(bodies.len() > 10, "{name}: {} details", bodies.len());
        // Each step with a detail has an empty slot naming it, and its body
        // as the text of a `<script type="text/html">` that is never run.
        let slots: Vec<usize> = deferred
            .split("<div class=\"detail\" data-detail=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
            .collect();
        assert_eq!(slots.len(), bodies.len(), "{name}");
        for (id, body) in slots.iter().zip(&bodies) {
            let script = format!("<script type=\"text/html\" id=\"detail-{id}\">{body}</script>");
            assert!(deferred.contains(&script), "{name}: step {id}'s detail");
            assert!(!body.to_ascii_lowercase().contains("</script"));
        }
        // Outside those scripts the page has no header tables.
        let visible = deferred.split("<script type=\"text/html\"").next().unwrap();
        assert!(!visible.contains("class=\"part req-headers\""), "{name}");
        assert!(inline.contains("class=\"part req-headers\""), "{name}");
        // Auto keeps a sample's few steps inline.
        assert!(session.analysis.steps.len() <= html::INLINE_STEPS);
        assert_eq!(render(name, true).1, inline, "{name}");
    }
}
