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

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::hashing::{HashMap, HashSet};

use super::endpoints::HostRole;
use super::mfa::{self, MfaAttempt, MfaResult};
use super::observe::{correlation_keys, end_us, is_blocking, Step};

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

/// The steps that handed out one link value, as they are met in start order,
/// answering "the latest one whose response had ended when a request starting
/// at `started_us` was sent". Requests are met in start order too, so a
/// producer that had ended for one request has ended for every later one:
/// each producer waits in a heap until then and is looked at once, which keeps
/// a link handed out by every step of a huge flow (a flow token renewed by each
/// poll) linear instead of a scan back over all earlier producers per request.
#[derive(Default)]
struct Producers {
    /// The latest producer met so far, answered or not.
    last: Option<Met>,
    /// Producers not yet answered at the last request, by end time.
    waiting: Waiting,
    /// The latest producer answered at the last request.
    latest_answered: Option<Met>,
}

/// A step as met in start order: its rank in that order, and its position.
type Met = (usize, usize);

impl Producers {
    /// Adds a producer met after every one added before.
    fn push(&mut self, met: Met, ended_us: i64) {
        self.last = Some(met);
        self.waiting.push((ended_us, met));
    }

    /// The latest producer whose response had ended when a request starting at
    /// `started_us` was sent; calls come with `started_us` never decreasing.
    fn latest_answered(&mut self, started_us: i64) -> Option<Met> {
        while let Some((end, met)) = self.waiting.earliest() {
            if end > started_us + CLOCK_SLACK_US {
                break;
            }
            self.waiting.pop_earliest();
            self.latest_answered = self.latest_answered.max(Some(met));
        }
        self.latest_answered
    }
}

/// Producers waiting for their answer, earliest end first. Most links have
/// one producer, so the first waits inline: a heap per link was an allocation
/// for every link of the trace, and on an identity-dense HAR the fresh memory
/// of those heaps was most of the grouping's time (issue #15).
#[derive(Default)]
struct Waiting {
    first: Option<(i64, Met)>,
    more: BinaryHeap<Reverse<(i64, Met)>>,
}

impl Waiting {
    fn push(&mut self, waiting: (i64, Met)) {
        if self.first.is_none() {
            self.first = Some(waiting);
        } else {
            self.more.push(Reverse(waiting));
        }
    }

    fn earliest(&self) -> Option<(i64, Met)> {
        let more = self.more.peek().map(|r| r.0);
        match (self.first, more) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn pop_earliest(&mut self) {
        match (self.first, self.more.peek()) {
            (Some(a), Some(Reverse(b))) if *b < a => drop(self.more.pop()),
            (Some(_), _) => self.first = None,
            (None, _) => drop(self.more.pop()),
        }
    }
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
    let mut components: HashMap<usize, Vec<usize>> = HashMap::default();
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
    // Each flow is built from its own steps: on every core, in order.
    let flows = groups
        .into_par_iter()
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
    // The WS-Trust steps of every group, by input and end time. A group that
    // joins another holds only redeeming steps, so it is never a target itself
    // and the targets keep their WS-Trust steps; only a target's first start can
    // move (a joining step may start a moment before it), and `first` follows it.
    let mut wstrust: HashMap<usize, Vec<(i64, usize)>> = HashMap::default();
    for (gi, g) in groups.iter().enumerate() {
        for &i in g
            .iter()
            .filter(|&&i| steps[i].endpoint == Some("adfs_wstrust"))
        {
            wstrust
                .entry(steps[i].input)
                .or_default()
                .push((end_us(&steps[i]), gi));
        }
    }
    if wstrust.is_empty() {
        return;
    }
    for list in wstrust.values_mut() {
        list.sort_unstable();
    }
    let mut first: Vec<i64> = groups.iter().map(|g| steps[g[0]].started_us).collect();
    let mut moved_to: Vec<Option<usize>> = vec![None; groups.len()];
    for gi in 0..groups.len() {
        let g = &groups[gi];
        let redeems = g.iter().all(is_redeem) && !g.iter().all(|&i| steps[i].background);
        if !redeems {
            continue;
        }
        let start = steps[g[0]].started_us;
        let Some(list) = wstrust.get(&steps[g[0]].input) else {
            continue;
        };
        // WS-Trust answers that had ended, at most a window before this group.
        let from = list.partition_point(|&(end, _)| start - end > FOLLOW_WINDOW_US);
        let to = list.partition_point(|&(end, _)| end <= start + CLOCK_SLACK_US);
        // The latest started of their groups; of equals, the last in order.
        let target = list[from..to.max(from)]
            .iter()
            .map(|&(_, t)| t)
            .max_by_key(|&t| (first[t], t));
        if let Some(t) = target {
            moved_to[gi] = Some(t);
            first[t] = first[t].min(start);
        }
    }
    let mut joined: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (gi, t) in moved_to.iter().enumerate() {
        if let Some(t) = *t {
            let moved = std::mem::take(&mut groups[gi]);
            joined[t].extend(moved);
        }
    }
    for (g, more) in groups.iter_mut().zip(joined) {
        if !more.is_empty() {
            g.extend(more);
            g.sort_by_key(|&i| (steps[i].started_us, i));
        }
    }
    groups.retain(|g| !g.is_empty());
}

/// Joins each group of background steps to the sign-in it serves (see the
/// module doc); returns the steps that served none. A group that failed and
/// serves no sign-in becomes a flow of its own: its failure is the sign-in's.
fn attach_background(
    groups: &mut Vec<Vec<usize>>,
    helpers: Vec<Vec<usize>>,
    steps: &[Step],
) -> Vec<usize> {
    let mut by_url: HashMap<u64, usize> = HashMap::default();
    for (gi, g) in groups.iter().enumerate() {
        for &i in g {
            by_url.entry(steps[i].url_key).or_insert(gi);
        }
    }
    let spans = Spans::new(groups, steps);
    let mut background = Vec::new();
    let mut failed_alone = Vec::new();
    // Each group is sorted once at the end, not once per helper joining it.
    let mut joined = vec![false; groups.len()];
    for h in helpers {
        let by_referer = h
            .iter()
            .find_map(|&i| steps[i].referer_key.and_then(|k| by_url.get(&k).copied()));
        match by_referer.or_else(|| spans.served_by_time(&steps[h[0]])) {
            Some(gi) => {
                groups[gi].extend(h);
                joined[gi] = true;
            }
            None if h.iter().any(|&i| is_blocking(&steps[i])) => failed_alone.push(h),
            None => background.extend(h),
        }
    }
    for (g, _) in groups.iter_mut().zip(joined).filter(|(_, j)| *j) {
        g.sort_by_key(|&i| (steps[i].started_us, i));
    }
    groups.extend(failed_alone);
    background.sort_by_key(|&i| (steps[i].started_us, i));
    background
}

/// The time spans of the sign-in groups of each input, sorted for the three
/// questions of [`Spans::served_by_time`], so that each background step costs
/// a few binary searches rather than a look at every group.
struct Spans {
    by_input: HashMap<usize, InputSpans>,
}

/// One input's groups: `(start, group)` and `(end, group)` in ascending order,
/// and the ends in start order, searchable.
struct InputSpans {
    by_start: Vec<(i64, usize)>,
    /// The end of each entry of `by_start`.
    ends: MaxTree,
    by_end: Vec<(i64, usize)>,
}

impl Spans {
    fn new(groups: &[Vec<usize>], steps: &[Step]) -> Spans {
        let mut lists: HashMap<usize, Vec<(i64, i64, usize)>> = HashMap::default();
        for (gi, g) in groups.iter().enumerate() {
            let end = g.iter().map(|&i| end_us(&steps[i])).max().unwrap_or(0);
            let first = &steps[g[0]];
            lists
                .entry(first.input)
                .or_default()
                .push((first.started_us, end, gi));
        }
        let by_input = lists
            .into_iter()
            .map(|(input, mut list)| {
                list.sort_unstable_by_key(|&(start, _, gi)| (start, gi));
                let by_start = list.iter().map(|&(start, _, gi)| (start, gi)).collect();
                let ends: Vec<i64> = list.iter().map(|&(_, end, _)| end).collect();
                let ends = MaxTree::new(&ends);
                let mut by_end: Vec<(i64, usize)> =
                    list.iter().map(|&(_, end, gi)| (end, gi)).collect();
                by_end.sort_unstable();
                let spans = InputSpans {
                    by_start,
                    ends,
                    by_end,
                };
                (input, spans)
            })
            .collect();
        Spans { by_input }
    }

    /// The group a background step serves by time alone: the one in progress
    /// (the latest started), else the next to start, else the one that had just
    /// ended; same input, within [`FOLLOW_WINDOW_US`].
    fn served_by_time(&self, step: &Step) -> Option<usize> {
        let s = self.by_input.get(&step.input)?;
        let t = step.started_us;
        // Of the groups that started by `t`, the latest started still going.
        let started = s.by_start.partition_point(|&(start, _)| start <= t);
        let in_progress = s.ends.last_at_least(started, t).map(|j| s.by_start[j].1);
        let next = || {
            let first_after = s.by_start.partition_point(|&(start, _)| start < t);
            s.by_start
                .get(first_after)
                .filter(|(start, _)| *start - t <= FOLLOW_WINDOW_US)
                .map(|&(_, gi)| gi)
        };
        let previous = || {
            let ended = s.by_end.partition_point(|&(end, _)| end <= t);
            ended
                .checked_sub(1)
                .map(|last| s.by_end[last])
                .filter(|(end, _)| t - *end <= FOLLOW_WINDOW_US)
                .map(|(_, gi)| gi)
        };
        in_progress.or_else(next).or_else(previous)
    }
}

/// A max segment tree over a fixed list: finds the last entry before a
/// position whose value is at least a bound in `O(log n)`, with `2n` values of
/// memory (a trace can have a million groups).
struct MaxTree {
    /// Leaves start at `leaves`; node `k` holds the maximum of its children
    /// `2k` and `2k + 1`; missing leaves hold `i64::MIN`.
    leaves: usize,
    nodes: Vec<i64>,
}

impl MaxTree {
    fn new(values: &[i64]) -> MaxTree {
        let leaves = values.len().next_power_of_two();
        let mut nodes = vec![i64::MIN; 2 * leaves];
        nodes[leaves..leaves + values.len()].copy_from_slice(values);
        for k in (1..leaves).rev() {
            nodes[k] = nodes[2 * k].max(nodes[2 * k + 1]);
        }
        MaxTree { leaves, nodes }
    }

    /// The last index before `end` whose value is at least `bound`.
    fn last_at_least(&self, end: usize, bound: i64) -> Option<usize> {
        self.search(1, 0, self.leaves, end, bound)
    }

    /// [`MaxTree::last_at_least`] within node `k`, which covers `lo..hi`.
    fn search(&self, k: usize, lo: usize, hi: usize, end: usize, bound: i64) -> Option<usize> {
        if lo >= end || self.nodes[k] < bound {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = lo + (hi - lo) / 2;
        self.search(2 * k + 1, mid, hi, end, bound)
            .or_else(|| self.search(2 * k, lo, mid, end, bound))
    }
}

fn link_components(steps: &[Step], scoped: &[usize], uf: &mut UnionFind) {
    // By the steps' correlation keys, hashed when they were observed: the
    // ids' strings are not read again here, on one core (issue #15).
    let mut by_correlation: HashMap<u64, usize> = HashMap::default();
    // Sized once for every link the steps name: growing them a rehash at a
    // time would fill fresh memory several times over (issue #15).
    let (links_in, links_out) = scoped.iter().fold((0, 0), |(i, o), &s| {
        (i + steps[s].links_in.len(), o + steps[s].links_out.len())
    });
    // Every step that handed out a link, in start order.
    // The map holds an index into `producers`: small values keep the map small.
    let mut produced: HashMap<u64, usize> =
        HashMap::with_capacity_and_hasher(links_out, Default::default());
    let mut producers: Vec<Producers> = Vec::with_capacity(links_out);
    let mut consumed: HashMap<u64, usize> =
        HashMap::with_capacity_and_hasher(links_in, Default::default());
    let mut order: Vec<usize> = (0..scoped.len()).collect();
    order.sort_by_key(|&p| (steps[scoped[p]].started_us, scoped[p]));
    // `Producers` needs positions that grow with start order.
    for (rank, pos) in order.into_iter().enumerate() {
        let step = &steps[scoped[pos]];
        // A step built by hand, not observed, has its keys derived here.
        let keys = match step.correlation_keys {
            [None, None] => correlation_keys(step),
            keys => keys,
        };
        for key in keys.into_iter().flatten() {
            let first = *by_correlation.entry(key.get()).or_insert(pos);
            uf.union(first, pos);
        }
        let mut sent_back = false;
        for link in &step.links_in {
            if let Some(producers) = produced.get(link).map(|&p| &mut producers[p]) {
                // A value sent back is strong evidence: when timestamps say no
                // producer had answered yet, the latest one is taken all the same.
                let from = producers
                    .latest_answered(step.started_us)
                    .or(producers.last);
                if let Some((_, from)) = from {
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
            .and_then(|&p| producers[p].latest_answered(step.started_us))
            .map(|(_, from)| from)
            .filter(|&from| step.started_us - end_us(&steps[scoped[from]]) <= FOLLOW_WINDOW_US);
        if let Some(from) = followed {
            uf.union(from, pos);
        }
        for link in &step.links_out {
            let p = *produced.entry(*link).or_insert_with(|| {
                producers.push(Producers::default());
                producers.len() - 1
            });
            producers[p].push((rank, pos), end_us(step));
        }
    }
}

fn build_flow(id: usize, g: Vec<usize>, steps: &[Step], trace_end_us: i64, window_ms: i64) -> Flow {
    let first = &steps[g[0]];
    let ended_us = g
        .iter()
        .map(|&i| end_us(&steps[i]))
        .max()
        .unwrap_or(first.started_us);
    // Each id once, whatever its case, in order of first use; looked up in sets
    // so a flow with an id per step stays linear.
    let mut correlation_ids = Vec::new();
    let mut seen_ids: HashSet<String> = HashSet::default();
    let mut regions = Vec::new();
    let mut seen_regions: HashSet<&str> = HashSet::default();
    for &i in &g {
        let s = &steps[i];
        for c in [&s.correlation_id, &s.client_request_id]
            .into_iter()
            .flatten()
        {
            if seen_ids.insert(c.to_ascii_lowercase()) {
                correlation_ids.push(c.clone());
            }
        }
        if let Some(r) = &s.region {
            if seen_regions.insert(r) {
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
    use crate::identity::links::Links;

    const MINUTE_US: i64 = 60_000_000;

    fn step(started_us: i64, endpoint: &'static str, url_key: u64, links_out: &[u64]) -> Step {
        Step {
            started_us,
            duration_ms: Some(100.0),
            role: Some(HostRole::Ests),
            endpoint: Some(endpoint),
            url_key,
            links_out: links_out.into(),
            ..Step::default()
        }
    }

    /// `Waiting` gives the producers back in the order a plain heap would, and
    /// so the same latest answered producer, whatever the order they came in.
    #[test]
    fn waiting_pops_as_a_heap_would() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let (mut waiting, mut heap) = (Waiting::default(), BinaryHeap::new());
            for rank in 0..(next() % 12) as usize {
                let item = ((next() % 8) as i64, (rank, (next() % 50) as usize));
                waiting.push(item);
                heap.push(Reverse(item));
                if next() % 3 == 0 {
                    assert_eq!(waiting.earliest(), heap.peek().map(|r| r.0));
                    waiting.pop_earliest();
                    heap.pop();
                }
            }
            while let Some(Reverse(expected)) = heap.pop() {
                assert_eq!(waiting.earliest(), Some(expected));
                waiting.pop_earliest();
            }
            assert_eq!(waiting.earliest(), None);
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
        steps[2].links_in = Links::from(&[40][..]);
        steps[3].links_in = Links::from(&[41][..]);
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

    /// A small deterministic generator for the index tests.
    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, n: u64) -> i64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n) as i64
        }
    }

    /// The question `Spans::served_by_time` answers, asked of every group in
    /// turn (as grouping once did).
    fn served_by_scan(spans: &[(usize, i64, i64)], input: usize, t: i64) -> Option<usize> {
        let same = || {
            spans
                .iter()
                .enumerate()
                .filter(move |(_, (i, _, _))| *i == input)
        };
        let in_progress = same()
            .filter(|(_, (_, start, end))| *start <= t && t <= *end)
            .max_by_key(|(gi, (_, start, _))| (*start, *gi));
        let next = || {
            same()
                .filter(|(_, (_, start, _))| *start >= t && *start - t <= FOLLOW_WINDOW_US)
                .min_by_key(|(gi, (_, start, _))| (*start, *gi))
        };
        let previous = || {
            same()
                .filter(|(_, (_, _, end))| *end <= t && t - *end <= FOLLOW_WINDOW_US)
                .max_by_key(|(gi, (_, _, end))| (*end, *gi))
        };
        in_progress
            .or_else(next)
            .or_else(previous)
            .map(|(gi, _)| gi)
    }

    #[test]
    fn the_span_index_answers_as_a_scan_of_every_group() {
        let mut rng = XorShift(0x5EED_1234_ABCD);
        for round in 0..40 {
            // Groups of one or two steps over a few minutes, on two inputs,
            // with equal starts and ends on purpose (times in whole seconds).
            let mut steps = Vec::new();
            let mut groups = Vec::new();
            for _ in 0..(1 + round % 17) {
                let start = rng.below(300) * 1_000_000;
                let mut a = step(start, "authorize", 0, &[]);
                a.input = rng.below(2) as usize;
                a.duration_ms = Some((rng.below(4) * 30_000) as f64);
                let mut g = vec![steps.len()];
                steps.push(a.clone());
                if rng.below(2) == 0 {
                    a.started_us += rng.below(90) * 1_000_000;
                    g.push(steps.len());
                    steps.push(a);
                }
                groups.push(g);
            }
            let scan: Vec<(usize, i64, i64)> = groups
                .iter()
                .map(|g| {
                    let end = g.iter().map(|&i| end_us(&steps[i])).max().unwrap();
                    (steps[g[0]].input, steps[g[0]].started_us, end)
                })
                .collect();
            let spans = Spans::new(&groups, &steps);
            for t in (-70..=460).map(|s| s * 1_000_000) {
                for input in 0..3 {
                    let mut probe = step(t, "user_realm", 0, &[]);
                    probe.input = input;
                    assert_eq!(
                        spans.served_by_time(&probe),
                        served_by_scan(&scan, input, t),
                        "round {round}, input {input}, t {t}"
                    );
                }
            }
        }
    }

    #[test]
    fn producers_answer_as_a_scan_back_over_every_producer() {
        let mut rng = XorShift(0xF00D_2026);
        let mut producers = Producers::default();
        let mut all: Vec<(i64, Met)> = Vec::new();
        let mut now = 0;
        for rank in 0..2_000 {
            now += rng.below(3) * 1_000;
            if rng.below(3) > 0 {
                // Long answers too, so that many producers are still pending.
                let end = now + rng.below(40) * 1_000;
                producers.push((rank, rank * 7), end);
                all.push((end, (rank, rank * 7)));
            }
            let expected = all
                .iter()
                .rev()
                .find(|(end, _)| *end <= now + CLOCK_SLACK_US)
                .map(|(_, met)| *met);
            assert_eq!(producers.latest_answered(now), expected, "at {now}");
            assert_eq!(producers.last, all.last().map(|(_, met)| *met));
        }
    }
}
