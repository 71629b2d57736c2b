//! Which Microsoft identity host and endpoint an exchange talks to.
//!
//! The host list (`data/hosts.tsv`) and the endpoint patterns (`data/endpoints.tsv`)
//! are data compiled into the binary: Microsoft adds hosts and paths, and updating a
//! table must not need a code change.

use std::sync::OnceLock;

/// What an identity host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    /// Entra ID's token service (login.microsoftonline.com and aliases).
    Ests,
    /// Microsoft accounts (login.live.com).
    Msa,
    /// Seamless SSO (autologon.microsoftazuread-sso.com).
    SeamlessSso,
    /// An AD FS server (any host serving `/adfs/…`).
    Adfs,
    /// Sign-in UI CDN and telemetry: never part of a flow.
    Noise,
    /// Anything else (the application, unrelated traffic).
    Other,
}

/// A recognised endpoint, named as in the output contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint(pub &'static str);

impl Endpoint {
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// The verdict for one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recognised {
    pub role: HostRole,
    /// `None` for unrecognised paths and for telemetry noise.
    pub endpoint: Option<Endpoint>,
    /// True for page telemetry and CDN requests that flows ignore.
    pub noise: bool,
}

struct Pattern {
    role: &'static str,
    segments: Vec<&'static str>,
    endpoint: &'static str,
}

struct Tables {
    hosts: Vec<(&'static str, HostRole)>,
    patterns: Vec<Pattern>,
}

fn role_from_name(name: &str) -> Option<HostRole> {
    Some(match name {
        "ests" => HostRole::Ests,
        "msa" => HostRole::Msa,
        "seamless_sso" => HostRole::SeamlessSso,
        "noise" => HostRole::Noise,
        _ => return None,
    })
}

fn data_lines(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let hosts = data_lines(include_str!("../../data/hosts.tsv"))
            .filter_map(|cols| Some((cols[0], role_from_name(cols.get(1)?)?)))
            .collect();
        let patterns = data_lines(include_str!("../../data/endpoints.tsv"))
            .filter(|cols| cols.len() >= 2)
            .map(|cols| Pattern {
                role: cols[0],
                segments: cols[1].split('/').filter(|s| !s.is_empty()).collect(),
                endpoint: cols.get(2).copied().unwrap_or(""),
            })
            .collect();
        Tables { hosts, patterns }
    })
}

/// The role of `host` (case-insensitive; a trailing dot or port is ignored).
pub fn host_role(host: &str) -> HostRole {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    for (name, role) in &tables().hosts {
        let matches = match name.strip_prefix('.') {
            Some(suffix) => host.ends_with(name) || host == suffix,
            None => host == *name,
        };
        if matches {
            return *role;
        }
    }
    HostRole::Other
}

fn path_matches(pattern: &[&str], path: &str) -> bool {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    for want in pattern {
        if *want == "**" {
            return true;
        }
        match segments.next() {
            Some(seg) if *want == "*" || seg.eq_ignore_ascii_case(want) => {}
            _ => return false,
        }
    }
    segments.next().is_none()
}

/// Recognises the identity endpoint of `host` + `path`.
pub fn recognise(host: &str, path: &str) -> Recognised {
    let role = host_role(host);
    if role == HostRole::Noise {
        return Recognised {
            role,
            endpoint: None,
            noise: true,
        };
    }
    let role_name = match role {
        HostRole::Ests => "ests",
        HostRole::Msa => "msa",
        HostRole::SeamlessSso => "seamless_sso",
        _ => "",
    };
    for p in &tables().patterns {
        if (p.role == role_name || p.role == "any") && path_matches(&p.segments, path) {
            let role = if p.endpoint == "adfs" {
                HostRole::Adfs
            } else {
                role
            };
            return Recognised {
                role,
                endpoint: (!p.endpoint.is_empty()).then_some(Endpoint(p.endpoint)),
                noise: p.endpoint.is_empty(),
            };
        }
    }
    Recognised {
        role,
        endpoint: None,
        noise: false,
    }
}

/// The tenant segment of an ESTS path (`common`, `organizations`, a GUID, a domain),
/// when the path has one.
pub fn tenant_segment(path: &str) -> Option<&str> {
    let first = path.split('/').find(|s| !s.is_empty())?;
    let lower = first.to_ascii_lowercase();
    let looks_like_tenant = matches!(lower.as_str(), "common" | "organizations" | "consumers")
        || is_guid(first)
        || (first.contains('.') && !first.contains(".srf") && !first.starts_with('.'));
    looks_like_tenant.then_some(first)
}

/// True for a GUID in its 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(host: &str, path: &str) -> Option<&'static str> {
        recognise(host, path).endpoint.map(Endpoint::name)
    }

    #[test]
    fn recognises_ests_endpoints() {
        assert_eq!(
            name("login.microsoftonline.com", "/common/oauth2/v2.0/authorize"),
            Some("authorize")
        );
        assert_eq!(
            name("LOGIN.microsoftonline.com", "/contoso.example/oauth2/token"),
            Some("token")
        );
        assert_eq!(
            name(
                "login.microsoftonline.us",
                "/organizations/oauth2/v2.0/devicecode"
            ),
            Some("devicecode")
        );
        assert_eq!(
            name("login.microsoftonline.com", "/common/SAS/EndAuth"),
            Some("sas_end_auth")
        );
        assert_eq!(name("login.microsoftonline.com", "/kmsi"), Some("kmsi"));
        assert_eq!(
            name("login.microsoftonline.com", "/common/GetCredentialType"),
            Some("get_credential_type")
        );
        assert_eq!(
            name("login.microsoftonline.com", "/common/federation/oauth2msa"),
            Some("federation_msa")
        );
        assert_eq!(
            name("login.microsoftonline.com", "/login.srf"),
            Some("login_srf")
        );
        assert_eq!(
            name("login.live.com", "/ppsecure/post.srf"),
            Some("msa_post")
        );
        assert_eq!(name("sts.contoso.example", "/adfs/ls/"), Some("adfs"));
        assert_eq!(
            recognise("sts.contoso.example", "/adfs/ls/").role,
            HostRole::Adfs
        );
        assert_eq!(
            name(
                "autologon.microsoftazuread-sso.com",
                "/contoso.example/winauth/ssoprobe"
            ),
            Some("seamless_sso")
        );
    }

    #[test]
    fn noise_and_other() {
        assert!(recognise("aadcdn.msftauth.net", "/shared/1.0/content/js/x.js").noise);
        assert!(
            recognise(
                "login.microsoftonline.com",
                "/common/instrumentation/reportpageload"
            )
            .noise
        );
        let r = recognise("app.contoso.example", "/signin-oidc");
        assert_eq!(r.role, HostRole::Other);
        assert_eq!(r.endpoint, None);
        assert!(!r.noise);
    }

    #[test]
    fn tenants() {
        assert_eq!(tenant_segment("/common/oauth2/authorize"), Some("common"));
        assert_eq!(
            tenant_segment("/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/token"),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(
            tenant_segment("/contoso.example/oauth2/token"),
            Some("contoso.example")
        );
        assert_eq!(tenant_segment("/kmsi"), None);
        assert_eq!(tenant_segment("/login.srf"), None);
    }
}
