//! Reports: the terminal text report, the JSON contract and the HTML page. Every string that came
//! from a trace goes through [`shown::Redactor`] (and, on a terminal,
//! [`shown::terminal_safe`]) before it is printed.

pub mod html;
pub mod json;
pub mod shown;
pub mod text;
pub mod ticket;
pub mod time;
pub mod verdict;

use crate::findings::Finding;

/// A streamed report collected as text, for callers that hold it whole (tests,
/// benches). The writers write only `str`s, so the bytes are UTF-8.
pub fn collected(
    write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut out = Vec::new();
    write(&mut out)?;
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// How many flows' sections the text and HTML reports render at a time (on
/// every core) before they are written.
pub(crate) const FLOWS_PER_BATCH: usize = 256;

/// A run's text, written into a buffer that is cleared and reused.
pub(crate) trait RunBuffer {
    fn clear(&mut self);
    fn bytes(&self) -> &[u8];
}

impl RunBuffer for String {
    fn clear(&mut self) {
        String::clear(self);
    }
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl RunBuffer for Vec<u8> {
    fn clear(&mut self) {
        Vec::clear(self);
    }
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// Writes `items` to `out` in order, rendered on every core: `per_batch` items
/// at a time, each batch cut into runs (two per thread) that `render` writes
/// into a buffer of their own, given the index of the run's first item in
/// `items` and a memo `M` of the run's place in the batch. Buffers and memos
/// are kept from batch to batch: a buffer grown afresh for every run cost
/// fresh pages (9 MB of growth for the text of a dense HAR's 2,200 flows,
/// issue #15); a cleared one is reused.
pub(crate) fn write_in_batches<'a, S, M, B>(
    out: &mut impl std::io::Write,
    items: &'a [S],
    per_batch: usize,
    render: impl Fn(usize, &'a [S], &mut M, &mut B) -> std::io::Result<()> + Sync,
) -> std::io::Result<()>
where
    S: Sync,
    M: Default + Send,
    B: RunBuffer + Default + Send,
{
    write_in_batches_then(out, items, per_batch, render, &mut |_: &mut B| {})
}

/// [`write_in_batches`], calling `then` with each run's buffer, in order,
/// once its bytes are written (to take what else the run made).
pub(crate) fn write_in_batches_then<'a, S, M, B>(
    out: &mut impl std::io::Write,
    items: &'a [S],
    per_batch: usize,
    render: impl Fn(usize, &'a [S], &mut M, &mut B) -> std::io::Result<()> + Sync,
    then: &mut impl FnMut(&mut B),
) -> std::io::Result<()>
where
    S: Sync,
    M: Default + Send,
    B: RunBuffer + Default + Send,
{
    use rayon::prelude::*;
    assert!(per_batch > 0, "a batch holds items");
    let run_len = per_batch.div_ceil(2 * rayon::current_num_threads());
    let mut runs: Vec<(M, B)> = std::iter::repeat_with(Default::default)
        .take(per_batch.div_ceil(run_len))
        .collect();
    for (n, batch) in items.chunks(per_batch).enumerate() {
        batch
            .par_chunks(run_len)
            .zip(runs.par_iter_mut())
            .enumerate()
            .try_for_each(|(r, (run_items, (memo, buffer)))| {
                buffer.clear();
                render(n * per_batch + r * run_len, run_items, memo, buffer)
            })?;
        // A short last batch fills fewer runs: the others hold an earlier batch.
        for (_, buffer) in &mut runs[..batch.len().div_ceil(run_len)] {
            out.write_all(buffer.bytes())?;
            then(buffer);
        }
    }
    Ok(())
}

/// The snake_case name serde gives a unit enum value (`FlowKind::DeviceCode` →
/// `device_code`), for reports that print what the JSON calls it.
pub fn snake_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The findings of each flow, in report order, looked up once per report
/// rather than filtered out of every finding once per flow: one list ordered
/// by flow (those about no flow first), each flow's in report order. One
/// vector, not one per flow: the thousands of small vectors of a dense trace
/// cost fresh memory on the thread that starts every report (issue #15).
pub(crate) struct FindingsByFlow<'f>(Vec<&'f Finding>);

impl<'f> FindingsByFlow<'f> {
    /// The findings about `flow` (`None`: about no flow), in report order.
    pub(crate) fn of(&self, flow: Option<usize>) -> &[&'f Finding] {
        let from = self.0.partition_point(|f| f.flow < flow);
        let to = from + self.0[from..].partition_point(|f| f.flow == flow);
        &self.0[from..to]
    }
}

pub(crate) fn findings_by_flow(findings: &[Finding]) -> FindingsByFlow<'_> {
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    // Stable: each flow's findings keep their report order.
    ordered.sort_by_key(|f| f.flow);
    FindingsByFlow(ordered)
}

fn row<'f>(label: &'static str, value: std::borrow::Cow<'f, str>, is_user: bool) -> TicketRow<'f> {
    TicketRow {
        label,
        value,
        is_user,
    }
}

/// One row of a finding's "for the support ticket" block.
pub struct TicketRow<'f> {
    pub label: &'static str,
    pub value: std::borrow::Cow<'f, str>,
    /// A user name: every report masks it unless secrets are shown.
    pub is_user: bool,
}

/// The support-ticket rows of a finding, in the order support asks for them:
/// the code, the UTC time, the ids to search the Sign-in logs with, where.
pub fn ticket_rows(f: &Finding) -> Vec<TicketRow<'_>> {
    let mut rows = Vec::new();
    if let Some(code) = f.code {
        rows.push(row("Error code", format!("AADSTS{code}").into(), false));
    } else if let Some(code) = &f.service_code {
        rows.push(row("Error code", code.as_str().into(), false));
    }
    if let Some(step) = &f.step {
        rows.push(row("Step", step.as_str().into(), false));
    }
    if let Some(t) = f.time_us {
        rows.push(row("Timestamp (UTC)", time::rfc3339(t).into(), false));
    }
    for (label, value) in [
        ("Correlation ID", &f.correlation_id),
        ("Request ID", &f.request_id),
        ("Tenant", &f.tenant),
        ("App ID", &f.client_id),
        ("Server", &f.ests_server),
        ("Client", &f.client_ip),
    ] {
        if let Some(v) = value {
            rows.push(row(label, v.as_str().into(), false));
        }
    }
    if let Some(u) = &f.user {
        rows.push(row("User", u.as_str().into(), true));
    }
    rows
}

/// Sessions made for the reports' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::identity::endpoints::HostRole;
    use crate::identity::Step;
    use crate::session::Session;

    /// `n` authorize requests a second apart, nothing linking one to another:
    /// `n` flows of one step each, the reports' longest lists for their size.
    pub(crate) fn separate_sign_ins(n: usize) -> Session {
        let steps = (0..n)
            .map(|i| Step {
                id: i,
                started_us: 1_700_000_000_000_000 + i as i64 * 1_000_000,
                method: "GET".into(),
                url: format!(
                    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?n={i}"
                ),
                host: "login.microsoftonline.com".into(),
                path: "/common/oauth2/v2.0/authorize".into(),
                status: Some(200),
                role: Some(HostRole::Ests),
                endpoint: Some("authorize"),
                correlation_id: Some(format!("{i:08x}-0000-4000-8000-000000000001")),
                url_key: i as u64 + 1,
                ..Step::default()
            })
            .collect();
        let session = crate::session::judge(Vec::new(), steps, &Default::default());
        assert_eq!(session.analysis.flows.len(), n);
        session
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{kind_only, FindingKind};

    #[test]
    fn findings_of_a_flow_are_its_own_in_report_order() {
        let flows = [Some(2), None, Some(0), Some(2), None, Some(0)];
        let findings: Vec<Finding> = flows
            .iter()
            .enumerate()
            .map(|(id, &flow)| Finding {
                id,
                flow,
                ..kind_only(FindingKind::SlowResponse)
            })
            .collect();
        let by_flow = findings_by_flow(&findings);
        let ids = |flow| by_flow.of(flow).iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(ids(None), [1, 4]);
        assert_eq!(ids(Some(0)), [2, 5]);
        assert_eq!(ids(Some(1)), [0usize; 0]);
        assert_eq!(ids(Some(2)), [0, 3]);
        assert_eq!(ids(Some(7)), [0usize; 0]);
        assert!(findings_by_flow(&[]).of(None).is_empty());
    }
}
