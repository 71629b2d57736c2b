//! Network Monitor captures whose frames are ETW events: the AD FS WS-Federation
//! sign-in of `MS-ADFSOD_Example1` (shared corpus, `netmon/prot-od-netcaps`), logged by
//! Microsoft-Windows-WinINet-Capture, read into exchanges and recognised as AD FS.
//! Every request and status below was checked by hand against a hex dump of the
//! event payloads (tshark shows no HTTP in this file).

use std::path::{Path, PathBuf};

use aadtrace::capture::{read_source, Format, NoProgress, Source};
use aadtrace::identity::flows::FlowKind;
use aadtrace::session::{self, SessionOptions};

fn corpus_file(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/netmon/prot-od-netcaps")
        .join(name);
    if p.is_file() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing (a missing corpus under CI is a failure)",
            p.display()
        );
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

const EXAMPLE1: &str = "MS-ADFSOD_Example1_WIN2016_X64_WIN10_X64_Domain.cap";

#[test]
fn wininet_capture_events_become_exchanges() {
    let Some(path) = corpus_file(EXAMPLE1) else {
        return;
    };
    let mut seen: Vec<(String, String, u16, usize, bool)> = Vec::new();
    let (format, summary) = read_source(&Source::File(path), 0, &NoProgress, &mut |ex| {
        let body = match &ex.request.body {
            aadtrace::http::Body::Bytes(b) => b.len(),
            _ => 0,
        };
        let wresult = ex
            .request
            .body
            .text()
            .is_ok_and(|t| t.contains("wresult=%3Ct%3ARequestSecurityTokenResponse"));
        seen.push((
            ex.request.method.to_string(),
            ex.request.url.to_string(),
            ex.status().unwrap_or(0),
            body,
            wresult,
        ));
        assert!(
            ex.connection.is_none(),
            "ETW exchanges have no TCP connection"
        );
    })
    .expect("readable");
    assert_eq!(format, Format::Netmon);
    assert_eq!(summary.exchanges, seen.len());
    assert_eq!(seen.len(), 50, "{seen:#?}");
    assert!(
        !summary
            .warnings
            .iter()
            .any(|w| w.code == "netmon_etw_frames"),
        "{:?}",
        summary.warnings
    );

    // The relying party sends the browser to its AD FS…
    let first = &seen[0];
    assert_eq!(
        (first.0.as_str(), first.1.as_str(), first.2),
        ("GET", "https://web01.rp01.com/WebApplicationInRp01", 302)
    );
    let at = |prefix: &str| {
        seen.iter()
            .position(|e| e.1.starts_with(prefix))
            .unwrap_or_else(|| panic!("no request to {prefix}: {seen:#?}"))
    };
    let ls = at(
        "https://sts.rp01.com/adfs/ls/?wtrealm=https%3a%2f%2frp01.com%2fWebApplicationInRp01&wctx=",
    );
    assert_eq!((seen[ls].0.as_str(), seen[ls].2), ("GET", 200));
    // …whose home-realm discovery sends it on to the account partner's AD FS, where
    // the forms sign-in is posted (302) and answered with the token form (200)…
    let idp_post = seen
        .iter()
        .position(|e| e.0 == "POST" && e.1.starts_with("https://sts.idp.com/adfs/ls?wa=wsignin1.0"))
        .expect("forms POST to the IdP");
    assert_eq!(seen[idp_post].2, 302);
    assert!(seen[idp_post].3 > 0, "the credentials form is the body");
    // …and the wresult comes back to the resource partner's AD FS, then to the app.
    // The capture holds a second sign-in, to rp02, that goes the same way.
    let wresults: Vec<(&str, &str, u16)> = seen
        .iter()
        .filter(|e| e.4)
        .map(|e| (e.0.as_str(), e.1.as_str(), e.2))
        .collect();
    assert_eq!(
        wresults,
        [
            ("POST", "https://sts.rp01.com/adfs/ls", 200),
            ("POST", "https://web01.rp01.com/WebApplicationInRp01", 302),
            ("POST", "https://sts.rp02.com/adfs/ls", 200),
            ("POST", "https://web01.rp02.com/WebApplicationInRp02", 302),
        ]
    );
    // Requests appear in the order they started.
    assert!(ls < idp_post);
}

#[test]
fn the_adfs_sign_in_is_an_adfs_flow() {
    let Some(path) = corpus_file(EXAMPLE1) else {
        return;
    };
    let s = session::run(
        &[Source::File(path)],
        &SessionOptions::default(),
        &NoProgress,
        &|| {},
    )
    .expect("analysed");
    let flows = &s.analysis.flows;
    assert!(!flows.is_empty());
    assert!(
        flows.iter().all(|f| f.kind == FlowKind::Adfs),
        "{:?}",
        flows.iter().map(|f| f.kind).collect::<Vec<_>>()
    );
    // The first flow is the sign-in: discovery on sts.rp01.com, the forms POST on
    // sts.idp.com, the wresult POST back on sts.rp01.com.
    let first = &flows[0];
    let urls: Vec<String> = first
        .steps
        .iter()
        .map(|&i| {
            let st = &s.analysis.steps[i];
            format!("{} {}", st.method, st.url)
        })
        .collect();
    assert!(
        urls.iter()
            .any(|u| u.starts_with("POST https://sts.idp.com/adfs/ls")),
        "{urls:#?}"
    );
    assert!(
        urls.iter()
            .any(|u| u == "POST https://sts.rp01.com/adfs/ls"),
        "{urls:#?}"
    );
    assert!(first.user.is_some(), "the user name of the forms sign-in");
}
