//! Which Microsoft identity host and endpoint an exchange talks to.
//!
//! The host list (`data/hosts.tsv`) and the endpoint patterns (`data/endpoints.tsv`)
//! are data compiled into the binary: Microsoft adds hosts and paths, and updating a
//! table must not need a code change.

use std::cell::RefCell;
use std::sync::OnceLock;

use crate::hashing::HashMap;

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
    /// How many segments a path it matches has: exactly the pattern's, or at
    /// least those before its `**`. Tested before any segment is compared:
    /// most patterns are ruled out by it (every exchange is matched, issue #15).
    length: PathLength,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathLength {
    Exactly(usize),
    AtLeast(usize),
}

impl PathLength {
    fn of(segments: &[&str]) -> Self {
        match segments.iter().position(|s| *s == "**") {
            Some(open) => PathLength::AtLeast(open),
            None => PathLength::Exactly(segments.len()),
        }
    }

    fn admits(self, segments: usize) -> bool {
        match self {
            PathLength::Exactly(n) => segments == n,
            PathLength::AtLeast(n) => segments >= n,
        }
    }
}

struct Tables {
    hosts: Vec<(&'static str, HostRole)>,
    patterns: Vec<Pattern>,
    /// For each host role a pattern can name ([`role_slot`]), the patterns
    /// that apply to it (its own and `any`), in table order: a host is matched
    /// against these only, not against every line (issue #15).
    by_role: [Vec<usize>; ROLE_SLOTS],
}

/// The role name a pattern line gives for each slot of `by_role`; the last
/// slot, hosts of no named role, takes only `any` lines.
const ROLE_NAMES: [&str; 4] = ["ests", "msa", "seamless_sso", ""];
const ROLE_SLOTS: usize = ROLE_NAMES.len();

/// The slot of `by_role` whose patterns apply to hosts of `role`.
fn role_slot(role: HostRole) -> usize {
    match role {
        HostRole::Ests => 0,
        HostRole::Msa => 1,
        HostRole::SeamlessSso => 2,
        _ => 3,
    }
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
            .map(|cols| {
                let segments: Vec<&str> = cols[1].split('/').filter(|s| !s.is_empty()).collect();
                Pattern {
                    role: cols[0],
                    length: PathLength::of(&segments),
                    segments,
                    endpoint: cols.get(2).copied().unwrap_or(""),
                }
            })
            .collect::<Vec<Pattern>>();
        let by_role = std::array::from_fn(|slot| {
            (0..patterns.len())
                .filter(|&i| {
                    let role = patterns[i].role;
                    role == "any" || role == ROLE_NAMES[slot]
                })
                .collect()
        });
        Tables {
            hosts,
            patterns,
            by_role,
        }
    })
}

/// The role of `host` (case-insensitive; a trailing dot or port is ignored).
pub fn host_role(host: &str) -> HostRole {
    // Compared in place, not lower-cased into a new string: once per exchange.
    let host = host.trim_end_matches('.');
    for (name, role) in &tables().hosts {
        let matches = match name.strip_prefix('.') {
            Some(suffix) => ends_with_ignore_case(host, name) || host.eq_ignore_ascii_case(suffix),
            None => host.eq_ignore_ascii_case(name),
        };
        if matches {
            return *role;
        }
    }
    HostRole::Other
}

/// Whether `text` ends with `suffix`, in any ASCII case.
fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    let (text, suffix) = (text.as_bytes(), suffix.as_bytes());
    text.len() >= suffix.len() && text[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Whether the non-empty `segments` of a path match `pattern` (`*` one
/// segment, `**` the rest), in any ASCII case.
fn path_matches(pattern: &[&str], segments: &[&str]) -> bool {
    let mut segments = segments.iter();
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
    // Images, scripts, styles and the favicon that sign-in pages load from the
    // identity hosts themselves serve the page, never a sign-in.
    if is_static_asset(path) {
        return Recognised {
            role,
            endpoint: None,
            noise: true,
        };
    }
    let tables = tables();
    match matching_pattern(role_slot(role), path).map(|i| &tables.patterns[i]) {
        Some(p) => Recognised {
            role: if p.endpoint.starts_with("adfs") {
                HostRole::Adfs
            } else {
                role
            },
            endpoint: (!p.endpoint.is_empty()).then_some(Endpoint(p.endpoint)),
            noise: p.endpoint.is_empty(),
        },
        None => Recognised {
            role,
            endpoint: None,
            noise: false,
        },
    }
}

/// At most this many paths per host role are remembered by
/// [`matching_pattern`] on each thread; later ones are matched every time.
const REMEMBERED_PATHS: usize = 1024;

thread_local! {
    /// The pattern each path matched, by the slot of its host's role: a trace
    /// asks for the same few dozen paths thousands of times (MFA polls, token
    /// calls), and matching one against its role's patterns cost about a
    /// thousand instructions (issue #15).
    static MATCHED: RefCell<[HashMap<Box<str>, Option<usize>>; ROLE_SLOTS]> =
        RefCell::new(std::array::from_fn(|_| HashMap::default()));
}

/// The index of the first pattern of role slot `slot` that `path` matches.
fn matching_pattern(slot: usize, path: &str) -> Option<usize> {
    MATCHED.with(|matched| {
        let mut matched = matched.borrow_mut();
        let known = &mut matched[slot];
        if let Some(&pattern) = known.get(path) {
            return pattern;
        }
        let pattern = match_path(slot, path);
        if known.len() < REMEMBERED_PATHS {
            known.insert(path.into(), pattern);
        }
        pattern
    })
}

/// [`matching_pattern`] without the memory: `path` split into segments once
/// (onto the stack: the paths of sign-in endpoints have a handful) and
/// compared with the slot's patterns in order.
fn match_path(slot: usize, path: &str) -> Option<usize> {
    let mut held = [""; 8];
    let mut more = Vec::new();
    let mut count = 0;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match held.get_mut(count) {
            Some(slot) => *slot = segment,
            None => {
                if more.is_empty() {
                    more.extend_from_slice(&held);
                }
                more.push(segment);
            }
        }
        count += 1;
    }
    let segments: &[&str] = if count <= held.len() {
        &held[..count]
    } else {
        &more
    };
    let tables = tables();
    tables.by_role[slot].iter().copied().find(|&i| {
        let p = &tables.patterns[i];
        p.length.admits(segments.len()) && path_matches(&p.segments, segments)
    })
}

/// File endings of the static assets a sign-in page loads.
const STATIC_ENDINGS: &[&str] = &[
    ".ico", ".png", ".gif", ".jpg", ".jpeg", ".svg", ".webp", ".css", ".js", ".map", ".woff",
    ".woff2", ".ttf", ".eot",
];

/// True for a path that names a static asset (an image, a script, a style sheet).
pub fn is_static_asset(path: &str) -> bool {
    // Every ending is a dot and a name without one, so a path ends with one
    // exactly when what follows its last dot is one: one comparison per
    // ending, not a suffix test (every exchange to an identity host asks).
    let last = path.rsplit('/').next().unwrap_or("");
    let Some(dot) = last.rfind('.') else {
        return false;
    };
    let ending = &last[dot..];
    STATIC_ENDINGS
        .iter()
        .any(|e| ending.eq_ignore_ascii_case(e))
}

/// Endpoints that only serve a sign-in (discovery and metadata documents, user
/// realm and mex look-ups, the credential-type look-up, the hidden MSA frame):
/// they join the sign-in they serve and never make a flow of their own.
pub fn is_background(endpoint: &str) -> bool {
    matches!(
        endpoint,
        "openid_configuration"
            | "instance_discovery"
            | "discovery_keys"
            | "user_realm"
            | "adfs_mex"
            | "msa_me"
            | "get_credential_type"
            | "msa_credential_type"
    )
}

/// The tenant segment of an ESTS path (`common`, `organizations`, a GUID, a domain),
/// when the path has one.
pub fn tenant_segment(path: &str) -> Option<&str> {
    let first = path.split('/').find(|s| !s.is_empty())?;
    let looks_like_tenant = ["common", "organizations", "consumers"]
        .iter()
        .any(|name| first.eq_ignore_ascii_case(name))
        || is_guid(first)
        || is_domain_name(first);
    looks_like_tenant.then_some(first)
}

/// A DNS name such as `contoso.onmicrosoft.com`: letters, digits and hyphens in
/// dot-separated labels (RFC 1035 §2.3.1), ending in an alphabetic top-level
/// label that is not a file ending (`favicon.ico`, `login.srf`) — a user name
/// (`@`) or a file is never taken for a tenant.
pub fn is_domain_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    let Some(top) = labels.last() else {
        return false;
    };
    let well_formed = labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    let file_ending = ["srf", "htm", "html", "aspx", "php", "json", "xml", "txt"]
        .iter()
        .any(|e| top.eq_ignore_ascii_case(e))
        || is_static_asset(s);
    well_formed && top.len() >= 2 && top.bytes().all(|b| b.is_ascii_alphabetic()) && !file_ending
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

    /// A remembered path gives what matching it again gives, for every role
    /// slot, before and after the memory is full, in any case of letters.
    #[test]
    fn remembered_paths_match_as_matched_again() {
        let paths = [
            "/common/SAS/EndAuth",
            "/common/sas/endauth",
            "/4f1e7c2a-93b5-4d0e-8c61-2a7d95e3b0f4/oauth2/v2.0/authorize",
            "/common/oauth2/token",
            "/common/GetCredentialType",
            "/ppsecure/post.srf",
            "/adfs/ls/",
            "/",
            "",
            "/a/b/c/d/e/f/g/h/i/j/k",
        ];
        for round in 0..3 {
            for slot in 0..ROLE_SLOTS {
                for path in paths {
                    assert_eq!(
                        matching_pattern(slot, path),
                        match_path(slot, path),
                        "{round} {slot} {path}"
                    );
                }
                // Past the memory's limit on the second round.
                for n in 0..REMEMBERED_PATHS * round {
                    let path = format!("/common/{n}/oauth2/token");
                    assert_eq!(matching_pattern(slot, &path), match_path(slot, &path));
                }
            }
        }
        assert!(match_path(0, "/common/SAS/EndAuth").is_some());
    }

    /// Paths longer than the segments held on the stack are matched whole.
    #[test]
    fn long_paths_are_matched_whole() {
        let ests = "login.microsoftonline.com";
        assert_eq!(
            name(ests, "/common/userrealm/a/b/c/d/e/f/g/h"),
            Some("user_realm")
        );
        assert_eq!(
            name(ests, "/common/userrealm/a/b/c/d/e/f"),
            Some("user_realm")
        );
        assert_eq!(name(ests, "/common/oauth2/v2.0/authorize/a/b/c/d/e"), None);
        assert_eq!(
            name(ests, "/common/oauth2/v2.0/authorize"),
            Some("authorize")
        );
    }

    /// A path the length test rules out is one the pattern never matches: for
    /// every pattern, paths made of its own segments, shortened and lengthened.
    #[test]
    fn the_length_test_rules_out_only_paths_that_do_not_match() {
        for p in &tables().patterns {
            let concrete: Vec<&str> = p
                .segments
                .iter()
                .map(|s| if *s == "*" || *s == "**" { "x" } else { s })
                .collect();
            for keep in 0..=concrete.len() {
                for extra in 0..3 {
                    let mut path: Vec<&str> = concrete[..keep].to_vec();
                    path.extend(std::iter::repeat_n("y", extra));
                    if path_matches(&p.segments, &path) {
                        assert!(p.length.admits(path.len()), "{:?} {path:?}", p.segments);
                    }
                }
            }
            assert!(path_matches(&p.segments, &concrete) && p.length.admits(concrete.len()));
        }
    }

    #[test]
    fn static_assets_are_paths_that_end_with_an_asset_ending_in_any_case() {
        let reference = |path: &str| {
            let last = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
            STATIC_ENDINGS.iter().any(|e| last.ends_with(e))
        };
        for path in [
            "/ests/2.1/content/cdnbundles/converged.v2.login.min_81imvbluez.css",
            "/favicon.ICO",
            "/a/b.min.JS",
            "/.js",
            "/js",
            "/a.js/b",
            "/font.woff2",
            "/font.woff2x",
            "/image.jpeg?x=.png",
            "/common/oauth2/v2.0/authorize",
            "/a.b.c.svg",
            "/é.png",
            "",
            "/",
            "/.",
            "/x.",
        ] {
            assert_eq!(is_static_asset(path), reference(path), "{path}");
        }
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
    fn endpoints_the_real_service_uses() {
        let ests = "login.microsoftonline.com";
        for (path, want) in [
            ("/contoso.example/saml2", "saml2"),
            ("/contoso.example/wsfed", "wsfed"),
            ("/common/userrealm/lee@contoso.example", "user_realm"),
            ("/common/UserRealm/USERNAME", "user_realm"),
            ("/common/discovery/instance", "instance_discovery"),
            (
                "/common/v2.0/.well-known/openid-configuration",
                "openid_configuration",
            ),
            ("/contoso.example/kerberos", "kerberos"),
        ] {
            assert_eq!(name(ests, path), Some(want), "{path}");
        }
        let msa = "login.live.com";
        for (path, want) in [
            ("/ppsecure/post.srf", "msa_post"),
            ("/post.srf", "msa_post"),
            ("/pp1600/GetOneTimeCode.srf", "msa_one_time_code"),
            ("/GetSessionState.srf", "msa_session_state"),
            ("/oauth20_token.srf", "msa_token"),
            ("/Me.htm", "msa_me"),
            ("/logout.srf", "logout"),
        ] {
            assert_eq!(name(msa, path), Some(want), "{path}");
        }
        assert_eq!(
            name("sts.contoso.example", "/adfs/services/trust/mex"),
            Some("adfs_mex")
        );
        assert_eq!(
            name(
                "sts.contoso.example",
                "/adfs/services/trust/13/usernamemixed"
            ),
            Some("adfs_wstrust")
        );
        assert_eq!(
            recognise("sts.contoso.example", "/adfs/services/trust/mex").role,
            HostRole::Adfs
        );
        assert!(recognise(ests, "/favicon.ico").noise);
        assert!(recognise(msa, "/pp1500/images/arrow.png").noise);
        assert!(recognise(ests, "/common/instrumentation/dssostatus").noise);
        assert!(is_background("user_realm") && !is_background("token"));
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
        assert_eq!(tenant_segment("/favicon.ico"), None);
        assert_eq!(tenant_segment("/lee@example.com/oauth2/token"), None);
        assert_eq!(tenant_segment("/Me.htm"), None);
        assert_eq!(tenant_segment("/login.srf"), None);
    }
}
