//! Groups steps into sign-in flows and judges each flow's outcome.
//!
//! Two steps belong to the same flow when any of these links them (union-find):
//! * the same correlation id (`client-request-id`, `$Config.correlationId`, the ids
//!   in SAS replies and error descriptions);
//! * a hand-off: a value one response gives out (flow token, ctx, code, device code)
//!   that a later request sends back;
//! * a redirect: a request for the URL that a response sent the client to (a
//!   `Location`, the `action` of a self-posting form, or a federation URL), made
//!   within [`FOLLOW_WINDOW_US`] of that response and linked to the latest
//!   response that named the URL and had ended when the request started. A
//!   browser follows a redirect at once; without the window, every visit to an
//!   app's home page would join the first sign-in that ever redirected there, and
//!   a long trace would become one flow; without the "had ended", two sign-ins to
//!   the same app a moment apart (two tabs) would cross over. Timestamps from two
//!   inputs whose clocks differ by more than the window do not link redirects;
//!   values (flow tokens, codes) still link them;
//! * a shared hand-off value sent by several requests (device-code polling).
//!
//! Token requests with different grant types are different sign-ins even when a
//! client reuses one `client-request-id` for all of them (MSAL does): their
//! correlation key includes the grant type, except `authorization_code`, which
//! redeems the interactive sign-in it belongs to.
//!
//! Background steps (discovery and metadata documents, user realm and mex
//! look-ups, the credential-type look-up, the hidden MSA frame; see
//! [`super::endpoints::is_background`]) never make a flow of their own: a group of
//! them joins the sign-in it serves — the flow holding the page named by its
//! `Referer`, else the flow in progress at that moment, else the one that starts
//! next (clients look documents up before they sign in), else the one that had
//! just ended — all within the same input and [`FOLLOW_WINDOW_US`]. One that
//! serves no sign-in is listed as background traffic, unless it failed.
//!
//! Outcome: `success` when a code or token was issued after the last blocking error,
//! `failed` when a blocking error came last, `incomplete` otherwise.

use std::collections::HashMap;

use super::catalogue;
use super::endpoints::HostRole;
use super::mfa::{self, MfaAttempt, MfaResult};
use super::observe::Step;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// An interactive Entra ID sign-in in a browser.
    Entra,
    /// A sign-in that went through login.live.com (Microsoft account).
    Msa,
    /// A federated sign-in through AD FS.
    Adfs,
    /// Device-code flow: the code request and the token polling.
    DeviceCode,
    /// Token-endpoint conversations only (ROPC, client credentials, refresh).
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failed,
    Incomplete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: usize,
    pub kind: FlowKind,
    /// Step ids in time order.
    pub steps: Vec<usize>,
    pub started_us: i64,
    pub ended_us: i64,
    pub correlation_ids: Vec<String>,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    pub user: Option<String>,
    pub outcome: Outcome,
    pub mfa: Vec<MfaAttempt>,
    /// ESTS data-centre regions that served the flow, in order of first use.
    pub regions: Vec<String>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// How long after a response a request for the URL it redirected to still
/// counts as following the redirect.
pub const FOLLOW_WINDOW_US: i64 = 60_000_000;

/// Timestamps are rounded (HAR: milliseconds); a request may seem to start this
/// much before the response it follows ended.
const CLOCK_SLACK_US: i64 = 5_000;

/// Of the steps that handed out a link, in start order, the latest one whose
/// response had ended when a request starting at `started_us` was sent.
fn latest_answered(
    producers: &[usize],
    steps: &[Step],
    scoped: &[usize],
    started_us: i64,
) -> Option<usize> {
    producers
        .iter()
        .rev()
        .copied()
        .find(|&p| end_us(&steps[scoped[p]]) <= started_us + CLOCK_SLACK_US)
}

/// True for steps that take part in sign-in flows.
pub fn in_scope(step: &Step) -> bool {
    if step.noise {
        return false;
    }
    let identity = matches!(
        step.role,
        Some(HostRole::Ests | HostRole::Msa | HostRole::SeamlessSso | HostRole::Adfs)
    );
    identity || step.endpoint == Some("redirect_back")
}

/// The sign-in flows of a trace and the background steps that served none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouping {
    pub flows: Vec<Flow>,
    /// Step ids of background traffic that joined no flow, in time order.
    pub background: Vec<usize>,
}

/// Groups `steps` (all exchanges, in time order) into flows.
pub fn group(steps: &[Step], trace_end_us: i64, mfa_window_ms: i64) -> Grouping {
    // Links are followed through every step (an app's own redirects carry a flow
    // from one sign-in round to the next); only in-scope steps end up in flows.
    let linkable: Vec<usize> = (0..steps.len()).filter(|&i| !steps[i].noise).collect();
    let mut uf = UnionFind((0..linkable.len()).collect());
    link_components(steps, &linkable, &mut uf);
    let mut components: HashMap<usize, Vec<usize>> = HashMap::new();
    for (pos, &i) in linkable.iter().enumerate() {
        if in_scope(&steps[i]) {
            components.entry(uf.find(pos)).or_default().push(i);
        }
    }
    let mut groups: Vec<Vec<usize>> = components.into_values().collect();
    for g in &mut groups {
        g.sort_by_key(|&i| (steps[i].started_us, i));
    }
    // An app's callback or a sign-out on its own is no sign-in, unless it failed.
    groups.retain(|g| {
        g.iter().any(|&i| {
            let s = &steps[i];
            (s.endpoint != Some("redirect_back") && !s.sign_out) || is_blocking(s)
        })
    });
    let (mut groups, helpers): (Vec<_>, Vec<_>) = groups
        .into_iter()
        .partition(|g| g.iter().any(|&i| !steps[i].background));
    groups.sort_by_key(|g| (steps[g[0]].started_us, g[0]));
    join_redeemed_federation_tokens(&mut groups, steps);
    let background = attach_background(&mut groups, helpers, steps);
    groups.sort_by_key(|g| (steps[g[0]].started_us, g[0]));
    let flows = groups
        .into_iter()
        .enumerate()
        .map(|(id, g)| build_flow(id, g, steps, trace_end_us, mfa_window_ms))
        .collect();
    Grouping { flows, background }
}

/// Federated username/password is one sign-in: the SAML token a WS-Trust
/// request got from AD FS is redeemed at the token endpoint
/// (`grant_type=…saml1_1-bearer` or `saml2-bearer`) with nothing on the wire
/// that names the WS-Trust answer, so a group of such token requests joins
/// the latest WS-Trust sign-in of the same input that had ended within
/// [`FOLLOW_WINDOW_US`] before it.
fn join_redeemed_federation_tokens(groups: &mut Vec<Vec<usize>>, steps: &[Step]) {
    let is_redeem = |i: &usize| {
        let s = &steps[*i];
        s.background
            || (s.endpoint == Some("token")
                && s.grant_type
                    .as_deref()
                    .is_some_and(|g| g.to_ascii_lowercase().contains("saml")))
    };
    let mut gi = 0;
    while gi < groups.len() {
        let g = &groups[gi];
        let first = &steps[g[0]];
        let target = (g.iter().all(is_redeem) && !g.iter().all(|&i| steps[i].background))
            .then(|| {
                groups
                    .iter()
                    .enumerate()
                    .filter(|(other, o)| {
                        *other != gi
                            && o.iter().any(|&i| {
                                let s = &steps[i];
                                s.endpoint == Some("adfs_wstrust")
                                    && s.input == first.input
                                    && end_us(s) <= first.started_us + CLOCK_SLACK_US
                                    && first.started_us - end_us(s) <= FOLLOW_WINDOW_US
                            })
                    })
                    .max_by_key(|(_, o)| steps[o[0]].started_us)
                    .map(|(other, _)| other)
            })
            .flatten();
        match target {
            Some(t) => {
                let moved = groups.remove(gi);
                let t = if t > gi { t - 1 } else { t };
                groups[t].extend(moved);
                groups[t].sort_by_key(|&i| (steps[i].started_us, i));
            }
            None => gi += 1,
        }
    }
}

/// Joins each group of background steps to the sign-in it serves (see the
/// module doc); returns the steps that served none. A group that failed and
/// serves no sign-in becomes a flow of its own: its failure is the sign-in's.
fn attach_background(
    groups: &mut Vec<Vec<usize>>,
    helpers: Vec<Vec<usize>>,
    steps: &[Step],
) -> Vec<usize> {
    let mut by_url: HashMap<u64, usize> = HashMap::new();
    for (gi, g) in groups.iter().enumerate() {
        for &i in g {
            by_url.entry(steps[i].url_key).or_insert(gi);
        }
    }
    let spans: Vec<(usize, i64, i64)> = groups
        .iter()
        .map(|g| {
            let end = g.iter().map(|&i| end_us(&steps[i])).max().unwrap_or(0);
            (steps[g[0]].input, steps[g[0]].started_us, end)
        })
        .collect();
    let mut background = Vec::new();
    let mut failed_alone = Vec::new();
    for h in helpers {
        let by_referer = h
            .iter()
            .find_map(|&i| steps[i].referer_key.and_then(|k| by_url.get(&k).copied()));
        match by_referer.or_else(|| served_by_time(&spans, &steps[h[0]])) {
            Some(gi) => {
                groups[gi].extend(h);
                groups[gi].sort_by_key(|&i| (steps[i].started_us, i));
            }
            None if h.iter().any(|&i| is_blocking(&steps[i])) => failed_alone.push(h),
            None => background.extend(h),
        }
    }
    groups.extend(failed_alone);
    background.sort_by_key(|&i| (steps[i].started_us, i));
    background
}

/// The group a background step serves by time alone: the one in progress
/// (the latest started), else the next to start, else the one that had just
/// ended; same input, within [`FOLLOW_WINDOW_US`].
fn served_by_time(spans: &[(usize, i64, i64)], step: &Step) -> Option<usize> {
    let t = step.started_us;
    let same_input = || {
        spans
            .iter()
            .enumerate()
            .filter(move |(_, (input, _, _))| *input == step.input)
    };
    let in_progress = same_input()
        .filter(|(_, (_, start, end))| *start <= t && t <= *end)
        .max_by_key(|(gi, (_, start, _))| (*start, *gi));
    let next = || {
        same_input()
            .filter(|(_, (_, start, _))| *start >= t && *start - t <= FOLLOW_WINDOW_US)
            .min_by_key(|(gi, (_, start, _))| (*start, *gi))
    };
    let previous = || {
        same_input()
            .filter(|(_, (_, _, end))| *end <= t && t - *end <= FOLLOW_WINDOW_US)
            .max_by_key(|(gi, (_, _, end))| (*end, *gi))
    };
    in_progress
        .or_else(next)
        .or_else(previous)
        .map(|(gi, _)| gi)
}

fn link_components(steps: &[Step], scoped: &[usize], uf: &mut UnionFind) {
    let mut by_correlation: HashMap<String, usize> = HashMap::new();
    // Every step that handed out a link, in start order.
    let mut produced: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut consumed: HashMap<u64, usize> = HashMap::new();
    let mut order: Vec<usize> = (0..scoped.len()).collect();
    order.sort_by_key(|&p| (steps[scoped[p]].started_us, scoped[p]));
    for pos in order {
        let step = &steps[scoped[pos]];
        let grant = grant_of_its_own(step);
        for id in [&step.client_request_id, &step.correlation_id]
            .into_iter()
            .flatten()
        {
            let mut key = id.trim().to_ascii_lowercase();
            if key.is_empty() || key.chars().all(|c| c == '0' || c == '-') {
                continue;
            }
            if let Some(g) = grant {
                key.push('|');
                key.push_str(&g.to_ascii_lowercase());
            }
            let first = *by_correlation.entry(key).or_insert(pos);
            uf.union(first, pos);
        }
        let mut sent_back = false;
        for link in &step.links_in {
            if let Some(producers) = produced.get(link) {
                // A value sent back is strong evidence: when timestamps say no
                // producer had answered yet, the latest one is taken all the same.
                let from = latest_answered(producers, steps, scoped, step.started_us)
                    .or(producers.last().copied());
                if let Some(from) = from {
                    uf.union(from, pos);
                    sent_back = true;
                }
            }
            let first = *consumed.entry(*link).or_insert(pos);
            uf.union(first, pos);
        }
        // A request that sends back a value it was given is joined by that value;
        // the URL it goes to (the same callback for every sign-in to an app) could
        // only join it to another sign-in as well.
        let followed = produced
            .get(&step.url_key)
            .filter(|_| !sent_back)
            .and_then(|producers| latest_answered(producers, steps, scoped, step.started_us))
            .filter(|&from| step.started_us - end_us(&steps[scoped[from]]) <= FOLLOW_WINDOW_US);
        if let Some(from) = followed {
            uf.union(from, pos);
        }
        for link in &step.links_out {
            produced.entry(*link).or_default().push(pos);
        }
    }
}

/// The grant type that makes a token request a sign-in of its own: any but
/// `authorization_code`, which redeems the interactive sign-in it follows.
fn grant_of_its_own(step: &Step) -> Option<&str> {
    matches!(step.endpoint, Some("token" | "msa_token"))
        .then_some(step.grant_type.as_deref()?)
        .filter(|g| !g.eq_ignore_ascii_case("authorization_code"))
}

fn build_flow(id: usize, g: Vec<usize>, steps: &[Step], trace_end_us: i64, window_ms: i64) -> Flow {
    let first = &steps[g[0]];
    let ended_us = g
        .iter()
        .map(|&i| end_us(&steps[i]))
        .max()
        .unwrap_or(first.started_us);
    let mut correlation_ids = Vec::new();
    let mut regions = Vec::new();
    for &i in &g {
        let s = &steps[i];
        for c in [&s.correlation_id, &s.client_request_id]
            .into_iter()
            .flatten()
        {
            if !correlation_ids
                .iter()
                .any(|x: &String| x.eq_ignore_ascii_case(c))
            {
                correlation_ids.push(c.clone());
            }
        }
        if let Some(r) = &s.region {
            if !regions.contains(r) {
                regions.push(r.clone());
            }
        }
    }
    let mfa = mfa::attempts(&g, steps, trace_end_us, window_ms);
    Flow {
        id,
        kind: kind_of(&g, steps),
        outcome: outcome_of(&g, steps, &mfa),
        started_us: first.started_us,
        ended_us,
        correlation_ids,
        tenant: tenant_of(&g, steps),
        client_id: g
            .iter()
            .find_map(|&i| steps[i].client_id.clone())
            .or_else(|| token_claim(&g, steps, &["appid", "azp"])),
        user: g.iter().find_map(|&i| steps[i].user.clone()).or_else(|| {
            g.iter()
                .find_map(|&i| steps[i].tokens.iter().find_map(|t| t.user.clone()))
        }),
        mfa,
        regions,
        steps: g,
    }
}

/// End time of a step: start plus duration when known.
pub fn end_us(step: &Step) -> i64 {
    step.started_us + step.duration_ms.map(|d| (d * 1000.0) as i64).unwrap_or(0)
}

fn kind_of(g: &[usize], steps: &[Step]) -> FlowKind {
    let has = |f: &dyn Fn(&Step) -> bool| g.iter().any(|&i| f(&steps[i]));
    let token_only = g.iter().all(|&i| {
        let s = &steps[i];
        s.background || matches!(s.endpoint, Some("token" | "msa_token"))
    }) && has(&|s| matches!(s.endpoint, Some("token" | "msa_token")));
    if has(&|s| s.role == Some(HostRole::Adfs)) {
        FlowKind::Adfs
    } else if token_only {
        FlowKind::Token
    } else if has(&|s| s.role == Some(HostRole::Msa)) {
        FlowKind::Msa
    } else if has(&|s| s.endpoint == Some("devicecode")) {
        FlowKind::DeviceCode
    } else if g.iter().all(|&i| steps[i].background) {
        FlowKind::Token
    } else {
        FlowKind::Entra
    }
}

fn tenant_of(g: &[usize], steps: &[Step]) -> Option<String> {
    let tenants: Vec<&String> = g.iter().filter_map(|&i| steps[i].tenant.as_ref()).collect();
    tenants
        .iter()
        .find(|t| super::endpoints::is_guid(t))
        .or_else(|| tenants.iter().find(|t| t.contains('.')))
        .map(|t| t.to_string())
        .or_else(|| token_claim(g, steps, &["tid"]))
        .or_else(|| tenants.first().map(|t| t.to_string()))
}

fn token_claim(g: &[usize], steps: &[Step], names: &[&str]) -> Option<String> {
    g.iter().find_map(|&i| {
        steps[i].tokens.iter().find_map(|t| {
            t.claims
                .iter()
                .find(|(k, _)| names.contains(&k.as_str()))
                .map(|(_, v)| v.clone())
        })
    })
}

/// True when a code in the catalogue marks an expected step, not a failure.
pub fn is_interrupt(code: u32) -> bool {
    catalogue::lookup(code).is_some_and(|c| c.interrupt)
}

/// True when the step blocks the sign-in: a non-interrupt AADSTS code, an error
/// parameter or JSON error, or an HTTP error on an identity endpoint.
pub fn is_blocking(step: &Step) -> bool {
    if !step.aadsts.is_empty() {
        return step.aadsts.iter().any(|&c| !is_interrupt(c));
    }
    if step.error.is_some() {
        return true;
    }
    let seamless_probe = step.role == Some(HostRole::SeamlessSso) && step.status == Some(401);
    step.status.is_some_and(|s| s >= 400) && !seamless_probe
}

/// A flow that goes back to /authorize (or posts a WS-Federation or SAML token
/// to the app) this many times never got the app's session: it is failed
/// whatever each round issued (a redirect loop).
pub const AUTHORIZE_ROUNDS_OF_A_LOOP: usize = 4;

fn outcome_of(g: &[usize], steps: &[Step], mfa: &[MfaAttempt]) -> Outcome {
    let authorize_rounds = g
        .iter()
        .filter(|&&i| steps[i].endpoint == Some("authorize"))
        .count();
    let federation_rounds = g.iter().filter(|&&i| steps[i].federation_issue).count();
    if authorize_rounds.max(federation_rounds) >= AUTHORIZE_ROUNDS_OF_A_LOOP {
        return Outcome::Failed;
    }
    let last_issue = g
        .iter()
        .filter(|&&i| steps[i].issued)
        .map(|&i| steps[i].started_us)
        .max();
    let step_failure = g
        .iter()
        .filter(|&&i| is_blocking(&steps[i]))
        .map(|&i| steps[i].started_us)
        .max();
    let mfa_failure = mfa
        .iter()
        .filter(|a| {
            matches!(
                a.result,
                MfaResult::Timeout | MfaResult::Denied | MfaResult::Failed
            )
        })
        .map(|a| a.ended_us)
        .max();
    let last_failure = step_failure.max(mfa_failure);
    match (last_issue, last_failure) {
        (Some(ok), Some(bad)) if ok >= bad => Outcome::Success,
        (Some(_), None) => Outcome::Success,
        (_, Some(_)) => Outcome::Failed,
        (None, None) => Outcome::Incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_US: i64 = 60_000_000;

    fn step(started_us: i64, endpoint: &'static str, url_key: u64, links_out: &[u64]) -> Step {
        Step {
            started_us,
            duration_ms: Some(100.0),
            role: Some(HostRole::Ests),
            endpoint: Some(endpoint),
            url_key,
            links_out: links_out.to_vec(),
            ..Step::default()
        }
    }

    /// Flows as lists of step indices.
    fn grouped(steps: &[Step]) -> Vec<Vec<usize>> {
        let end = steps.iter().map(end_us).max().unwrap_or(0);
        group(steps, end, MINUTE_US)
            .flows
            .into_iter()
            .map(|f| f.steps)
            .collect()
    }

    #[test]
    fn a_redirect_followed_at_once_links_its_target() {
        let steps = [
            step(0, "authorize", 1, &[2]),
            step(1_000_000, "login", 2, &[]),
        ];
        assert_eq!(grouped(&steps), [vec![0, 1]]);
    }

    #[test]
    fn a_visit_to_the_same_url_minutes_later_is_a_new_flow() {
        // An app whose home page redirects to /authorize, signed into twice: the
        // second visit to the home page is not following the first redirect.
        let steps = [
            step(0, "authorize", 10, &[11]),
            step(500_000, "login", 11, &[12]),
            step(5 * MINUTE_US, "authorize", 10, &[11]),
            step(5 * MINUTE_US + 500_000, "login", 11, &[12]),
        ];
        assert_eq!(grouped(&steps), [vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn two_sign_ins_to_the_same_callback_a_moment_apart_stay_apart() {
        // Two tabs: each authorize page posts its own code to the app's callback.
        let mut steps = [
            step(0, "authorize", 30, &[31, 40]),
            step(100_000, "authorize", 32, &[31, 41]),
            step(250_000, "redirect_back", 31, &[]),
            step(300_000, "redirect_back", 31, &[]),
        ];
        steps[2].links_in = vec![40];
        steps[3].links_in = vec![41];
        assert_eq!(grouped(&steps), [vec![0, 2], vec![1, 3]]);
    }

    #[test]
    fn a_redirect_follows_a_response_that_had_ended() {
        // The second page was still loading when the request went out.
        let steps = [
            step(0, "authorize", 50, &[51]),
            step(150_000, "authorize", 52, &[51]),
            step(200_000, "login", 51, &[]),
        ];
        assert_eq!(grouped(&steps), [vec![0, 2], vec![1]]);
    }

    #[test]
    fn a_sign_out_that_fails_is_kept() {
        let mut sign_out = step(0, "adfs", 60, &[]);
        sign_out.sign_out = true;
        sign_out.status = Some(500);
        assert_eq!(grouped(&[sign_out]), [vec![0]]);
    }

    #[test]
    fn four_federation_tokens_posted_to_the_app_in_one_flow_are_a_loop() {
        let steps: Vec<Step> = (0..4)
            .map(|i| {
                let mut s = step(i * 500_000, "adfs", 70, &[70]);
                s.issued = true;
                s.federation_issue = true;
                s
            })
            .collect();
        let end = steps.iter().map(end_us).max().unwrap();
        let flows = group(&steps, end, MINUTE_US).flows;
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].outcome, Outcome::Failed);
    }

    #[test]
    fn a_sign_out_on_its_own_is_no_sign_in_flow() {
        let mut sign_out = step(0, "adfs", 60, &[]);
        sign_out.sign_out = true;
        let sign_in = step(5 * MINUTE_US, "authorize", 61, &[]);
        assert_eq!(grouped(&[sign_out, sign_in]), [vec![1]]);
    }

    #[test]
    fn a_redirect_links_to_the_latest_response_that_named_the_url() {
        let steps = [
            step(0, "authorize", 20, &[21]),
            step(10 * MINUTE_US, "authorize", 22, &[21]),
            step(10 * MINUTE_US + 300_000, "login", 21, &[]),
        ];
        assert_eq!(grouped(&steps), [vec![0], vec![1, 2]]);
    }

    #[test]
    fn background_joins_the_sign_in_it_serves_or_is_listed() {
        let mut discovery = step(0, "openid_configuration", 80, &[]);
        discovery.background = true;
        let sign_in = step(2_000_000, "adfs_wstrust", 81, &[]);
        let mut late = step(10 * MINUTE_US, "user_realm", 82, &[]);
        late.background = true;
        let steps = vec![discovery, sign_in, late];
        let end = steps.iter().map(end_us).max().unwrap();
        let g = group(&steps, end, MINUTE_US);
        assert_eq!(g.flows.len(), 1);
        assert_eq!(g.flows[0].steps, vec![0, 1]);
        assert_eq!(g.background, vec![2]);
    }

    #[test]
    fn token_requests_with_different_grants_are_different_sign_ins() {
        let token = |t: i64, grant: &str, issued: bool| {
            let mut s = step(t, "token", 90 + t as u64, &[]);
            s.client_request_id = Some("11111111-2222-3333-4444-555555555555".into());
            s.grant_type = Some(grant.into());
            s.issued = issued;
            if !issued {
                s.status = Some(400);
                s.aadsts = vec![50076];
            }
            s
        };
        let steps = vec![
            token(0, "password", false),
            token(1_000_000, "client_credentials", false),
            token(
                2_000_000,
                "urn:ietf:params:oauth:grant-type:device_code",
                true,
            ),
        ];
        let end = steps.iter().map(end_us).max().unwrap();
        let flows = group(&steps, end, MINUTE_US).flows;
        assert_eq!(flows.len(), 3);
        assert_eq!(flows[0].outcome, Outcome::Failed);
        assert_eq!(flows[1].outcome, Outcome::Failed);
        assert_eq!(flows[2].outcome, Outcome::Success);
    }

    #[test]
    fn a_federation_token_redeemed_after_ws_trust_is_the_same_sign_in() {
        let wstrust = step(0, "adfs_wstrust", 100, &[]);
        let mut redeem = step(1_000_000, "token", 101, &[]);
        redeem.grant_type = Some("urn:ietf:params:oauth:grant-type:saml1_1-bearer".into());
        redeem.issued = true;
        let mut later = step(5 * MINUTE_US, "token", 102, &[]);
        later.grant_type = Some("urn:ietf:params:oauth:grant-type:saml1_1-bearer".into());
        let steps = vec![wstrust, redeem, later];
        assert_eq!(grouped(&steps), vec![vec![0, 1], vec![2]]);
    }
}
