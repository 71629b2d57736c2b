//! What packet captures show below HTTP on sign-in hosts: TLS connections that
//! could not be read (no keys), TCP resets and TLS alerts.

use super::{human_duration, Finding, FindingKind, Severity};
use crate::capture::ConnectionInfo;
use crate::identity::endpoints::{host_role, HostRole};

/// One capture's connections, with the input they came from.
pub type Connections<'c> = [(usize, &'c ConnectionInfo)];

fn identity_host(sni: &str) -> bool {
    matches!(
        host_role(sni),
        HostRole::Ests | HostRole::Msa | HostRole::SeamlessSso
    )
}

pub fn rules(connections: &Connections<'_>, out: &mut Vec<Finding>) {
    undecrypted(connections, out);
    for (input, c) in connections {
        let Some(sni) = c.sni.as_deref().filter(|s| identity_host(s)) else {
            continue;
        };
        if c.reset {
            let mut f = base(FindingKind::TcpReset, *input, c);
            f.title = format!("TCP reset on a connection to {sni}");
            f.explanation = format!(
                "{} Connection {} ({} → {}) was reset after {} bytes from the client and {} from the server.",
                f.explanation, c.id, c.client, c.server, c.bytes_client, c.bytes_server
            );
            out.push(f);
        }
        if !c.tls_alerts.is_empty() {
            let mut f = base(FindingKind::TlsAlert, *input, c);
            let fatal = c.tls_alerts.iter().any(|a| a.starts_with("fatal"));
            f.severity = if fatal {
                Severity::Error
            } else {
                Severity::Warning
            };
            f.title = format!(
                "TLS alert on a connection to {sni}: {}",
                c.tls_alerts.join(", ")
            );
            f.explanation = format!(
                "{} Connection {} ({} → {}).",
                f.explanation, c.id, c.client, c.server
            );
            out.push(f);
        }
    }
}

/// One finding per input and sign-in host whose TLS could not be read.
fn undecrypted(connections: &Connections<'_>, out: &mut Vec<Finding>) {
    let mut groups: Vec<(usize, &str, Vec<&ConnectionInfo>)> = Vec::new();
    for (input, c) in connections {
        let Some(sni) = c.sni.as_deref() else {
            continue;
        };
        if c.decrypted || c.tls_version.is_none() || !identity_host(sni) {
            continue;
        }
        match groups
            .iter_mut()
            .find(|(i, s, _)| i == input && s.eq_ignore_ascii_case(sni))
        {
            Some((_, _, list)) => list.push(c),
            None => groups.push((*input, sni, vec![c])),
        }
    }
    for (input, sni, list) in groups {
        let first = list[0];
        let start = list
            .iter()
            .map(|c| c.started_us)
            .min()
            .unwrap_or(first.started_us);
        let end = list
            .iter()
            .map(|c| c.ended_us)
            .max()
            .unwrap_or(first.ended_us);
        let bytes: u64 = list.iter().map(|c| c.bytes_client + c.bytes_server).sum();
        let mut f = base(FindingKind::TlsUndecrypted, input, first);
        f.time_us = Some(start);
        f.title = format!(
            "{} TLS connection(s) to {sni} could not be read",
            list.len()
        );
        f.explanation = format!(
            "{} {} connection(s) over {} ({}, {}), {bytes} bytes, no key for them.",
            f.explanation,
            list.len(),
            human_duration((end - start) as f64 / 1000.0),
            first.tls_version.as_deref().unwrap_or("TLS"),
            first.cipher.as_deref().unwrap_or("unknown cipher"),
        );
        out.push(f);
    }
}

fn base(kind: FindingKind, input: usize, c: &ConnectionInfo) -> Finding {
    let mut f = super::kind_only(kind);
    f.input = Some(input);
    f.time_us = Some(c.started_us);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(id: usize, sni: &str) -> ConnectionInfo {
        ConnectionInfo {
            id,
            client: "10.0.0.5:51522".into(),
            server: "20.190.151.7:443".into(),
            started_us: 1_000_000 * (id as i64 + 1),
            ended_us: 1_000_000 * (id as i64 + 2),
            sni: Some(sni.into()),
            tls_version: Some("TLS 1.3".into()),
            cipher: Some("TLS_AES_128_GCM_SHA256".into()),
            ..ConnectionInfo::default()
        }
    }

    #[test]
    fn undecrypted_sign_in_connections_are_one_finding_per_host() {
        let a = tls(0, "login.microsoftonline.com");
        let b = tls(1, "login.microsoftonline.com");
        let other = tls(2, "www.example.com");
        let mut out = Vec::new();
        rules(&[(0, &a), (0, &b), (0, &other)], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "tls_undecrypted");
        assert!(out[0]
            .title
            .starts_with("2 TLS connection(s) to login.microsoftonline.com"));
        assert!(out[0]
            .next_steps
            .iter()
            .any(|s| s.contains("SSLKEYLOGFILE")));
    }

    #[test]
    fn resets_and_fatal_alerts_on_sign_in_hosts() {
        let mut c = tls(0, "login.live.com");
        c.decrypted = true;
        c.reset = true;
        c.tls_alerts = vec!["fatal handshake_failure".into()];
        let mut out = Vec::new();
        rules(&[(0, &c)], &mut out);
        let kinds: Vec<_> = out.iter().map(|f| (f.kind.as_str(), f.severity)).collect();
        assert_eq!(
            kinds,
            vec![
                ("tcp_reset", Severity::Warning),
                ("tls_alert", Severity::Error)
            ]
        );
    }
}
