//! Time-based judgements: slow steps, clocks that disagree, redirect loops and
//! requests repeated in storms.

use std::borrow::Cow;

use crate::hashing::HashMap;

use super::{about_step, human_duration, Finding, FindingKind, FindingOptions};
use crate::http::form;
use crate::identity::{flows, Analysis, Step};

pub fn rules(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    slow_steps(analysis, options, out);
    clock_skew(analysis, options, out);
    redirect_loops(analysis, options, out);
    retry_storms(analysis, options, out);
}

fn slow_steps(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    for step in analysis
        .steps
        .iter()
        .filter(|s| flows::in_scope(s) && s.endpoint != Some("redirect_back"))
    {
        let Some(ms) = step.duration_ms.filter(|d| *d > options.slow_ms) else {
            continue;
        };
        let mut f = about_step(FindingKind::SlowResponse, analysis, step);
        f.title = format!(
            "Slow response: {} {} took {}",
            step.method,
            step.endpoint.unwrap_or(&step.path),
            human_duration(ms)
        );
        let wait = step
            .wait_ms
            .map(|w| format!(" ({} of it waiting for the server)", human_duration(w)))
            .unwrap_or_default();
        let region = step
            .ests_server
            .as_deref()
            .map(|s| format!(" Served by {s}."))
            .unwrap_or_default();
        f.explanation = format!(
            "{} This step took {}{wait}, above the {} threshold.{region}",
            f.explanation,
            human_duration(ms),
            human_duration(options.slow_ms)
        );
        out.push(f);
    }
}

/// Server time minus capture time, per step, from Date headers, SAS and error
/// time stamps, page render times and token iat.
fn skews(step: &Step) -> impl Iterator<Item = (i64, &'static str)> + '_ {
    let from_server = step
        .server_times_us
        .iter()
        .map(move |t| (t - step.started_us, "server time stamp"));
    // Entra ID back-dates `iat`/`nbf` by five minutes to absorb client clock skew,
    // so a freshly issued token's `iat` + 300 s is the server's "now".
    let from_tokens = step
        .tokens
        .iter()
        .filter(|t| t.kind == "id_token" || t.kind == "access_token")
        .filter_map(move |t| {
            t.iat.map(|iat| {
                (
                    (iat + ENTRA_IAT_BACKDATE_S) * 1_000_000 - step.started_us,
                    "token iat",
                )
            })
        });
    from_server.chain(from_tokens)
}

const ENTRA_IAT_BACKDATE_S: i64 = 300;

fn clock_skew(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    let limit_us = options.skew_seconds * 1_000_000;
    let mut worst_per_input: HashMap<usize, (i64, &Step, &'static str)> = HashMap::default();
    for step in &analysis.steps {
        for (skew, source) in skews(step) {
            if skew.abs() <= limit_us {
                continue;
            }
            let e = worst_per_input
                .entry(step.input)
                .or_insert((skew, step, source));
            if skew.abs() > e.0.abs() {
                *e = (skew, step, source);
            }
        }
    }
    let mut found: Vec<_> = worst_per_input.into_values().collect();
    found.sort_by_key(|(_, s, _)| s.id);
    for (skew, step, source) in found {
        let mut f = about_step(FindingKind::ClockSkew, analysis, step);
        let direction = if skew > 0 { "ahead of" } else { "behind" };
        f.title = format!(
            "Server clock {} {direction} the capture's clock",
            human_duration((skew.abs() / 1000) as f64)
        );
        f.explanation = format!("{} Largest difference: the {source} of this step is {} {direction} the time the capture recorded for it.", f.explanation, human_duration((skew.abs() / 1000) as f64));
        out.push(f);
    }
}

fn redirect_loops(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    // Addresses a 3xx sent the browser to, and whether that redirect keeps the
    // method (307/308) rather than turning it into a GET.
    let mut redirected_to: HashMap<u64, bool> = HashMap::default();
    let mut hits: HashMap<LoopKey<'_>, Vec<&Step>> = HashMap::default();
    for step in analysis.steps.iter().filter(|s| !s.noise) {
        let followed = redirected_to
            .get(&step.url_key)
            .is_some_and(|&keeps_method| keeps_method || is_get(step));
        if followed || step.endpoint == Some("authorize") {
            hits.entry(loop_key(step)).or_default().push(step);
        }
        if let Some(status @ 300..=399) = step.status {
            let keeps_method = status == 307 || status == 308;
            for &key in &step.links_out {
                redirected_to.insert(key, keeps_method);
            }
        }
    }
    let mut groups: Vec<_> = hits.into_values().collect();
    groups.sort_by_key(|g| g[0].id);
    let sign_in = SignInSteps::new(analysis);
    // One loop usually bounces between two addresses (the app and /authorize):
    // report it once, naming every address that took part.
    let mut reported: Vec<(i64, i64, usize)> = Vec::new();
    for steps in groups {
        let Some(window) = dense_window(&steps, options.loop_repeats, options.loop_window_s) else {
            continue;
        };
        let (first, last) = (window[0], window[window.len() - 1]);
        // A loop matters here only when sign-in traffic takes part in it.
        if !sign_in.any_between(first.started_us, last.started_us) {
            continue;
        }
        let address = format!("{}{}", first.host, first.path);
        if let Some(&(_, _, at)) = reported
            .iter()
            .find(|(s, e, _)| first.started_us <= *e && last.started_us >= *s)
        {
            let f: &mut Finding = &mut out[at];
            f.explanation.push_str(&format!(
                " It also went through {address} {} times.",
                window.len()
            ));
            f.exchanges.extend(window.iter().map(|s| s.id));
            f.exchanges.sort_unstable();
            continue;
        }
        let mut f = about_step(FindingKind::RedirectLoop, analysis, first);
        f.exchanges = window.iter().map(|s| s.id).collect();
        let span = (last.started_us - first.started_us) as f64 / 1000.0;
        f.title = format!(
            "Redirect loop: {address} visited {} times in {}",
            window.len(),
            human_duration(span)
        );
        reported.push((first.started_us, last.started_us, out.len()));
        out.push(f);
    }
}

/// Which steps are sign-in traffic, counted along the time-ordered steps, so
/// that "did sign-in traffic happen between these two times?" is two binary
/// searches instead of a walk over the whole trace per candidate loop.
struct SignInSteps<'a> {
    steps: &'a [Step],
    /// `before[i]`: how many of the first `i` steps are in scope.
    before: Vec<usize>,
}

impl<'a> SignInSteps<'a> {
    fn new(analysis: &'a Analysis) -> Self {
        let mut before = Vec::with_capacity(analysis.steps.len() + 1);
        let mut n = 0;
        before.push(n);
        for s in &analysis.steps {
            n += usize::from(flows::in_scope(s));
            before.push(n);
        }
        SignInSteps {
            steps: &analysis.steps,
            before,
        }
    }

    /// True when an in-scope step started between `from` and `to` (inclusive).
    fn any_between(&self, from: i64, to: i64) -> bool {
        let lo = self.steps.partition_point(|s| s.started_us < from);
        let hi = self.steps.partition_point(|s| s.started_us <= to);
        hi > lo && self.before[hi] > self.before[lo]
    }
}

/// What makes two visits to one address the same request again: the address
/// and the app the sign-in is for (`client_id`, or WS-Federation's `wtrealm`),
/// so that signing in to several apps one after another is no loop. Borrowed
/// from the step where it can be: one key per visit (issue #15).
type LoopKey<'s> = (&'s str, Cow<'s, str>, Cow<'s, str>);

fn loop_key(step: &Step) -> LoopKey<'_> {
    let app = step.client_id.as_deref().map(Cow::Borrowed).or_else(|| {
        let query = crate::http::split_url(&step.url).query?;
        form::pairs(query)
            .find(|p| p.name.eq_ignore_ascii_case("wtrealm"))
            .map(|p| p.value())
    });
    let path = if step.path.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(step.path.to_ascii_lowercase())
    } else {
        Cow::Borrowed(step.path.as_str())
    };
    (step.host.as_str(), path, app.unwrap_or_default())
}

/// A POST to an address a 301/302/303 had sent the browser to is a form the
/// page there showed, filled in and sent (a sign-in page posting to itself),
/// not the browser following the redirect again: it is no loop.
fn is_get(step: &Step) -> bool {
    step.method.eq_ignore_ascii_case("GET") || step.method.eq_ignore_ascii_case("HEAD")
}

/// The largest run of `steps` (time-ordered) with at least `min` steps within
/// `window_s` seconds of the first, if any; of equal runs, the first. The run's
/// end only moves forward as its start does, so this is one pass.
fn dense_window<'s>(steps: &[&'s Step], min: usize, window_s: i64) -> Option<Vec<&'s Step>> {
    let window_us = window_s * 1_000_000;
    let mut best: Option<(usize, usize)> = None;
    let mut end = 0;
    for start in 0..steps.len() {
        end = end.max(start);
        while end < steps.len() && steps[end].started_us - steps[start].started_us <= window_us {
            end += 1;
        }
        let n = end - start;
        if n >= min && best.is_none_or(|(_, m)| n > m) {
            best = Some((start, n));
        }
    }
    best.map(|(s, n)| steps[s..s + n].to_vec())
}

/// Steps that repeat by design: MFA polling and device-code token polling.
fn expected_repeat(step: &Step) -> bool {
    step.endpoint == Some("sas_end_auth")
        || step.aadsts.contains(&70016)
        || step
            .grant_type
            .as_deref()
            .is_some_and(|g| g.ends_with("device_code"))
}

fn retry_storms(analysis: &Analysis, options: &FindingOptions, out: &mut Vec<Finding>) {
    let mut same: HashMap<(&str, &str, &str), Vec<&Step>> = HashMap::default();
    for step in analysis
        .steps
        .iter()
        // Only sign-in traffic: beacons and trackers repeat by design.
        .filter(|s| flows::in_scope(s) && !expected_repeat(s))
    {
        same.entry((&step.method, &step.host, &step.path))
            .or_default()
            .push(step);
    }
    let mut groups: Vec<_> = same.into_values().collect();
    groups.sort_by_key(|g| g[0].id);
    for steps in groups {
        let throttled: Vec<&Step> = steps
            .iter()
            .copied()
            .filter(|s| s.status == Some(429))
            .collect();
        let window = dense_window(&steps, options.storm_repeats, options.storm_window_s)
            .or_else(|| (!throttled.is_empty()).then_some(throttled));
        let Some(window) = window else { continue };
        let first = window[0];
        let mut f = about_step(FindingKind::RetryStorm, analysis, first);
        f.exchanges = window.iter().map(|s| s.id).collect();
        f.title = format!(
            "{} {}{} sent {} times",
            first.method,
            first.host,
            first.path,
            window.len()
        );
        if window.iter().any(|s| s.status == Some(429)) {
            f.explanation
                .push_str(" The server throttled the client (HTTP 429).");
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::endpoints::HostRole;
    use crate::identity::IdentityOptions;

    /// A step at `t_s` seconds on the AD FS sign-in page, with `status` and the
    /// addresses its response sends the browser to.
    fn adfs(t_s: i64, method: &str, status: u16, url_key: u64, links_out: &[u64]) -> Step {
        Step {
            started_us: t_s * 1_000_000,
            duration_ms: Some(50.0),
            method: method.to_string().into(),
            status: Some(status),
            host: "sts.contoso.com".into(),
            path: "/adfs/ls/".into(),
            role: Some(HostRole::Adfs),
            endpoint: Some("adfs"),
            url_key,
            links_out: links_out.into(),
            ..Step::default()
        }
    }

    fn loops(steps: Vec<Step>) -> Vec<Finding> {
        let analysis = Analysis::build(steps, &IdentityOptions::default());
        let mut out = Vec::new();
        redirect_loops(&analysis, &FindingOptions::default(), &mut out);
        out
    }

    #[test]
    fn a_sign_in_page_posting_to_itself_is_no_loop() {
        // The app sends the browser to the page; the user posts its form back
        // to the same address, which redirects to it again: twice (user name,
        // then password).
        let mut app = adfs(0, "GET", 302, 9, &[1]);
        app.host = "app.contoso.com".into();
        app.path = "/".into();
        app.role = None;
        app.endpoint = None;
        let steps = vec![
            app,
            adfs(0, "GET", 200, 1, &[1]),
            adfs(2, "POST", 302, 1, &[1]),
            adfs(2, "GET", 200, 1, &[1]),
            adfs(12, "POST", 302, 1, &[1]),
            adfs(13, "GET", 200, 1, &[1]),
        ];
        assert!(loops(steps).is_empty());
    }

    #[test]
    fn redirects_back_to_the_same_page_are_a_loop() {
        // The first visit is not a repeat; the four after it are.
        let steps = (0..5).map(|i| adfs(i, "GET", 302, 1, &[1])).collect();
        let found = loops(steps);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].title.contains("visited 4 times"),
            "{}",
            found[0].title
        );
    }

    #[test]
    fn signing_in_to_several_apps_in_turn_is_no_loop() {
        // Single sign-on: each app sends the browser to AD FS for its own realm.
        let mut steps = Vec::new();
        for (i, realm) in ["app1", "app2", "app3", "app4", "app5"].iter().enumerate() {
            let key = 10 + i as u64;
            let mut app = adfs(2 * i as i64, "GET", 302, 100 + i as u64, &[key]);
            app.host = format!("{realm}.contoso.com");
            app.role = None;
            app.endpoint = None;
            let mut visit = adfs(2 * i as i64 + 1, "GET", 200, key, &[]);
            visit.url = format!(
                "https://sts.contoso.com/adfs/ls/?wa=wsignin1.0&wtrealm=https%3a%2f%2f{realm}"
            );
            steps.extend([app, visit]);
        }
        assert!(loops(steps).is_empty());
    }

    /// The densest run as it was found before: a count from every start.
    fn dense_window_by_counting(steps: &[&Step], min: usize, window_s: i64) -> Option<Vec<usize>> {
        let window_us = window_s * 1_000_000;
        let mut best: Option<(usize, usize)> = None;
        for start in 0..steps.len() {
            let n = steps[start..]
                .iter()
                .take_while(|s| s.started_us - steps[start].started_us <= window_us)
                .count();
            if n >= min && best.is_none_or(|(_, m)| n > m) {
                best = Some((start, n));
            }
        }
        best.map(|(s, n)| steps[s..s + n].iter().map(|s| s.id).collect())
    }

    #[test]
    fn the_densest_run_is_found_in_one_pass_as_by_counting() {
        // Bursts and gaps, equal times included.
        let gaps = [0, 0, 5, 30, 1, 1, 70, 0, 2, 2, 2, 59, 1, 61, 0, 0, 0, 3];
        let mut t = 0;
        let steps: Vec<Step> = gaps
            .iter()
            .enumerate()
            .map(|(id, gap)| {
                t += gap;
                let mut s = adfs(t, "GET", 302, 1, &[]);
                s.id = id;
                s
            })
            .collect();
        let refs: Vec<&Step> = steps.iter().collect();
        for min in 1..8 {
            for window_s in [0, 1, 5, 30, 60, 120] {
                let found = dense_window(&refs, min, window_s)
                    .map(|w| w.iter().map(|s| s.id).collect::<Vec<_>>());
                assert_eq!(
                    found,
                    dense_window_by_counting(&refs, min, window_s),
                    "min {min}, window {window_s} s"
                );
            }
        }
    }

    #[test]
    fn a_307_keeps_the_post_so_a_repeated_post_is_a_loop() {
        let steps = (0..5).map(|i| adfs(i, "POST", 307, 1, &[1])).collect();
        assert_eq!(loops(steps).len(), 1);
    }
}
