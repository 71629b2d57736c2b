//! No secret survives in any output (issue #16). One generated sign-in trace
//! plants every kind of secret in every place a trace can hold one, each as a
//! distinctive marker; every output (the text, JSON and HTML reports, batch
//! NDJSON and Parquet, and `aadtrace redact` of the HAR and of a Fiddler archive
//! of the same exchanges) is then searched for every marker, also after
//! base64-decoding, percent-decoding (repeatedly), HTML- and JSON-unescaping.
//! The ids support needs (correlation and request ids, an AADSTS code, the
//! tenant and app ids, and in reports the UTC times) must survive.

use crate::support;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_aadtrace");

const TENANT: &str = "4f1e7c2a-93b5-4d0e-8c61-2a7d95e3b0f4";
const APP: &str = "0e8f7c1d-5a2b-4c3d-9e8f-1a2b3c4d5e6f";
const CORRELATION: &str = "7c9d2e1f-3a4b-4c5d-8e6f-9a0b1c2d3e4f";
const TRACE_ID: &str = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e";
const USER: &str = "adele.vance@contoso.example";

/// Every planted secret. Each is alphanumeric, so no encoding changes it, and
/// unique, so a hit names the place that leaked.
const MARKERS: &[&str] = &[
    "QXPWQUERY01",
    "QXCSQUERY02",
    "QXCVQUERY03",
    "QXOTCQUERY04",
    "QXCTXQUERY05",
    "QXMSATQUERY06",
    "QXNAPQUERY07",
    "QXANONQUERY08",
    "QXTOKENQUERY09",
    "QXAPIKEYQUERY10",
    "QXCIDCODE11",
    "QXREDIRCODE12",
    "QXREDIRAT13",
    "QXSTATECODE14",
    "QXFRAGAT15",
    "QXFRAGIDSIG16",
    "QXUSERINFOPW17",
    "QXSASSIG18",
    "QXJSESSION19",
    "QXPATHJWTSIG20",
    "QXPATHJWTPW21",
    "QXFORMPW22",
    "QXFORMFT23",
    "QXFORMCANARY24",
    "QXFORMPPFT25",
    "QXMPPW26",
    "QXMPCS27",
    "QXJSONRT28",
    "QXJSONCA29",
    "QXJSONSAML30",
    "QXJSONWRES31",
    "QXJSONPWD32",
    "QXJSONAPIKEY33",
    "QXBEARER34",
    "QXPROXYPW35",
    "QXCOOKIEESTS36",
    "QXCOOKIEJS37",
    "QXSETCOOKIE38",
    "QXXAUTH39",
    "QXXAPIKEY40",
    "QXCOMMENTPW41",
    "QXCOMMENTBEARER42",
    "QXMSGPW43",
    "QXMSGCS44",
    "QXMSGCV45",
    "QXSOAPPW46",
    "QXSOAPCS47",
    "QXLOGCOMMENT48",
    "QXBEARERJWTSIG49",
    "QXFRAGDOUBLE50",
    "QXSAZCOMMENT51",
    "QXHINTPW52",
    "QXNESTEDJSONPW53",
    "QXB64BODYRT54",
    "QXLOCATIONCODE55",
    "QXCHALLENGEPW56",
    "QXCUSTOMHDR57",
    "QXJWECIPHER58",
];

fn b64url(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// A JWT whose signature bytes spell `sig` and whose claims carry `extra`.
fn jwt(extra: &str, sig: &str) -> String {
    let header = b64url(r#"{"typ":"JWT","alg":"RS256","kid":"k1"}"#);
    let claims = b64url(&format!(
        r#"{{"aud":"{APP}","tid":"{TENANT}","upn":"{USER}","exp":1735693200{extra}}}"#
    ));
    format!("{header}.{claims}.{}", b64url(sig))
}

fn header(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

#[allow(clippy::too_many_arguments)]
fn entry(
    second: u32,
    method: &str,
    url: &str,
    req_headers: Vec<Value>,
    post: Option<(&str, String)>,
    status: u16,
    resp_headers: Vec<Value>,
    body: Option<(&str, String)>,
) -> Value {
    let mut request = json!({
        "method": method, "url": url, "httpVersion": "HTTP/1.1",
        "headers": req_headers, "queryString": [], "cookies": [],
        "headersSize": -1, "bodySize": -1,
    });
    if let Some((mime, text)) = post {
        request["postData"] = json!({"mimeType": mime, "text": text});
    }
    let (mime, text) = body.unwrap_or(("", String::new()));
    json!({
        "startedDateTime": format!("2025-01-01T00:00:{second:02}.000Z"),
        "time": 120.0,
        "request": request,
        "response": {
            "status": status, "statusText": "", "httpVersion": "HTTP/1.1",
            "headers": resp_headers, "cookies": [],
            "content": {"size": text.len(), "mimeType": mime, "text": text},
            "redirectURL": "", "headersSize": -1, "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 1, "wait": 100, "receive": 19},
    })
}

/// The trace: every secret kind in every place.
fn planted_har() -> Value {
    let login = "https://login.microsoftonline.com";
    let crid = header("client-request-id", CORRELATION);
    let authorize = format!(
        "{login}/{TENANT}/oauth2/v2.0/authorize?client_id={APP};code=QXCIDCODE11\
         &redirect_uri=https%3A%2F%2Fapp.contoso.example%2Fcb%3Fcode%3DQXREDIRCODE12%26access_token%3DQXREDIRAT13\
         &state=s1%253Dx%2526code%253DQXSTATECODE14&login_hint=adele.vance%40contoso.example%3Bpwd%3DQXHINTPW52\
         &password=QXPWQUERY01&client_secret=QXCSQUERY02&code_verifier=QXCVQUERY03&otc=QXOTCQUERY04\
         &ctx=QXCTXQUERY05&t=QXMSATQUERY06&NAP=QXNAPQUERY07&ANON=QXANONQUERY08&token=QXTOKENQUERY09\
         &api_key=QXAPIKEYQUERY10&client-request-id={CORRELATION}"
    );
    let bearer_jwt = jwt("", "QXBEARERJWTSIG49");
    let path_jwt = jwt(r#","password":"QXPATHJWTPW21""#, "QXPATHJWTSIG20");
    let id_token = jwt("", "QXFRAGIDSIG16");
    let multipart = format!(
        "--B0undary\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n{USER}\r\n\
         --B0undary\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nQXMPPW26\r\n\
         --B0undary\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\nQXMPCS27\r\n\
         --B0undary--\r\n"
    );
    let soap_fault = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:psf=\"http://schemas.microsoft.com/Passport/SoapServices/SOAPFault\"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en-US\">AADSTS50053: Account is locked, request had password=QXSOAPPW46</s:Text></s:Reason><s:Detail><psf:error><psf:value>0x80048821</psf:value><psf:internalerror><psf:code>0x80041012</psf:code><psf:text>AADSTS50053: client_secret=QXSOAPCS47 was sent</psf:text></psf:internalerror></psf:error></s:Detail></s:Fault></s:Body></s:Envelope>";
    let error_body = json!({
        "error": "invalid_grant",
        "error_description": format!("AADSTS50126: Error validating credentials due to invalid username or password. The request echoed password=QXMSGPW43 client_secret=QXMSGCS44 code_verifier=QXMSGCV45\r\nTrace ID: {TRACE_ID}\r\nCorrelation ID: {CORRELATION}\r\nTimestamp: 2025-01-01 00:00:05Z"),
        "error_codes": [50126],
        "timestamp": "2025-01-01 00:00:05Z",
        "trace_id": TRACE_ID,
        "correlation_id": CORRELATION,
    })
    .to_string();
    let json_body = json!({
        "refresh_token": "QXJSONRT28",
        "client_assertion": "QXJSONCA29",
        "SAMLResponse": "QXJSONSAML30",
        "wresult": "QXJSONWRES31",
        "pwd": "QXJSONPWD32",
        "apikey": "QXJSONAPIKEY33",
        "client_id": APP,
    })
    .to_string();
    let mut entries = vec![
        entry(
            1,
            "GET",
            &authorize,
            vec![
                crid.clone(),
                header("Cookie", "ESTSAUTH=QXCOOKIEESTS36; JSESSIONID=QXCOOKIEJS37; x-ms-gateway-slice=estsfd"),
                header("X-Auth-Token", "QXXAUTH39"),
                header("X-API-Key", "QXXAPIKEY40"),
            ],
            None,
            200,
            vec![
                header("Set-Cookie", "ESTSAUTHPERSISTENT=QXSETCOOKIE38; path=/; secure; HttpOnly"),
                header("x-ms-request-id", TRACE_ID),
            ],
            Some(("text/html", "<html><body>Sign in</body></html>".into())),
        ),
        entry(
            2,
            "POST",
            &format!("{login}/{TENANT}/login"),
            vec![crid.clone(), header("Content-Type", "application/x-www-form-urlencoded")],
            Some((
                "application/x-www-form-urlencoded",
                "login=adele.vance%40contoso.example&passwd=QXFORMPW22&flowToken=QXFORMFT23&canary=QXFORMCANARY24&PPFT=QXFORMPPFT25&ctx=QXCTXQUERY05".to_string(),
            )),
            200,
            vec![],
            Some(("text/html", "<html>ok</html>".into())),
        ),
        entry(
            3,
            "POST",
            &format!("{login}/{TENANT}/oauth2/v2.0/token"),
            vec![
                crid.clone(),
                header("Authorization", &format!("Bearer {bearer_jwt}")),
                header("Proxy-Authorization", &format!("Basic {}", STANDARD.encode("bob:QXPROXYPW35"))),
            ],
            Some(("application/json", json_body)),
            400,
            vec![header("x-ms-request-id", TRACE_ID)],
            Some(("application/json; charset=utf-8", error_body)),
        ),
        entry(
            4,
            "POST",
            &format!("{login}/rst2.srf"),
            vec![crid.clone()],
            Some(("application/soap+xml", "<s:Envelope/>".into())),
            500,
            vec![],
            Some(("application/soap+xml; charset=utf-8", soap_fault.into())),
        ),
        entry(
            5,
            "POST",
            "https://app.contoso.example/upload",
            vec![header("Authorization", "Bearer QXBEARER34")],
            Some(("multipart/form-data; boundary=B0undary", multipart)),
            200,
            vec![],
            None,
        ),
        entry(
            6,
            "GET",
            &format!("https://app.contoso.example/cb#access_token=QXFRAGAT15&id_token={id_token}&state=a%253Dcode%253DQXFRAGDOUBLE50"),
            vec![],
            None,
            200,
            vec![],
            Some(("text/html", "<html>app</html>".into())),
        ),
        entry(
            7,
            "GET",
            "https://alice:QXUSERINFOPW17@files.contoso.example/share/report.txt",
            vec![],
            None,
            200,
            vec![],
            None,
        ),
        entry(
            8,
            "GET",
            "https://acct.blob.core.windows.net/c/b.txt?sv=2024-01-01&sr=b&sig=QXSASSIG18",
            vec![],
            None,
            200,
            vec![],
            None,
        ),
        entry(
            9,
            "GET",
            "https://app.contoso.example/portal;jsessionid=QXJSESSION19?view=1",
            vec![],
            None,
            200,
            vec![],
            None,
        ),
        entry(
            10,
            "GET",
            &format!("https://api.contoso.example/v1/{path_jwt}/items"),
            vec![],
            None,
            200,
            vec![],
            None,
        ),
    ];
    // More places: a JSON string holding JSON, a base64 response body, a
    // redirect, a challenge, a free-text header, a JWE (five parts) in a
    // parameter whose name says nothing.
    let jwe = format!(
        "{}..{}.{}.{}",
        b64url(r#"{"alg":"dir","enc":"A256GCM"}"#),
        b64url("initvector12"),
        b64url("QXJWECIPHER58"),
        b64url("authtag12345")
    );
    entries.push(entry(
        11,
        "POST",
        &format!("https://app.contoso.example/api/session?blob={jwe}"),
        vec![header("X-Custom-Note", "token=QXCUSTOMHDR57")],
        Some((
            "application/json",
            json!({"data": json!({"password": "QXNESTEDJSONPW53"}).to_string()}).to_string(),
        )),
        302,
        vec![
            header("Location", "https://app.contoso.example/cb?code=QXLOCATIONCODE55&state=s"),
            header(
                "WWW-Authenticate",
                "Bearer error=\"invalid_token\", error_description=\"echo password=QXCHALLENGEPW56\"",
            ),
        ],
        None,
    ));
    let mut b64 = entry(
        12,
        "POST",
        &format!("{login}/{TENANT}/oauth2/v2.0/token"),
        vec![crid.clone()],
        Some((
            "application/x-www-form-urlencoded",
            "grant_type=refresh_token&refresh_token=QXB64BODYRT54".into(),
        )),
        200,
        vec![],
        None,
    );
    b64["response"]["content"] = json!({
        "size": 60,
        "mimeType": "application/json",
        "encoding": "base64",
        "text": STANDARD.encode(json!({"token_type": "Bearer", "refresh_token": "QXB64BODYRT54x", "expires_in": 3599}).to_string()),
    });
    entries.push(b64);
    entries[4]["comment"] = json!(
        "pasted by the user: password=QXCOMMENTPW41 and Authorization: Bearer QXCOMMENTBEARER42"
    );
    entries[0]["request"]["cookies"] = json!([{"name": "ESTSAUTH", "value": "QXCOOKIEESTS36"}]);
    // The query again as a browser lists it: split at `&`, values as written.
    entries[0]["request"]["queryString"] = Value::Array(
        authorize
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap();
                json!({"name": name, "value": value})
            })
            .collect(),
    );
    json!({"log": {
        "version": "1.2",
        "creator": {"name": "secrets-test", "version": "1"},
        "comment": "client_secret: QXLOGCOMMENT48",
        "entries": entries,
    }})
}

/// Every reading of `text` a person or program could make: as it is, its JSON
/// strings, HTML entities undone, percent-decoded up to three times, and every
/// base64 (also base64url, also a JWT part) run decoded.
fn views(text: &str) -> String {
    let mut all = text.to_string();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        strings(&v, &mut all);
    }
    for line in text.lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            strings(&v, &mut all);
        }
    }
    all = format!(
        "{all}\n{}",
        all.replace("&amp;", "&")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("\\u0026", "&")
            .replace("\\/", "/")
    );
    let mut decoded = all.clone();
    for _ in 0..3 {
        decoded = percent_decode(&decoded);
        all.push('\n');
        all.push_str(&decoded);
    }
    let b64 = base64_runs(&all);
    all.push('\n');
    all.push_str(&b64);
    all
}

fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push('\n');
            out.push_str(s);
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(x) = u8::from_str_radix(hex, 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Each run of base64 characters (and each dot-separated part), decoded.
fn base64_runs(text: &str) -> String {
    let mut out = String::new();
    let runs = text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=-_.".contains(c)));
    let pieces = runs.flat_map(|r| {
        let parts: Vec<&str> = r.split(['.', '/']).collect();
        std::iter::once(r).chain(r.split('.')).chain(parts)
    });
    for run in pieces {
        let run = run.trim_end_matches('=');
        if run.len() < 8 {
            continue;
        }
        for engine in [
            &URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ] {
            for cut in 0..4 {
                for end_cut in 0..3 {
                    let Some(piece) = run.get(cut..run.len().saturating_sub(end_cut)) else {
                        continue;
                    };
                    if let Ok(bytes) = engine.decode(piece) {
                        out.push_str(&String::from_utf8_lossy(&bytes));
                        out.push('\n');
                    }
                }
            }
        }
    }
    out
}

/// Asserts that no marker (nor the user's address) is anywhere in `text`.
fn assert_clean(place: &str, text: &str) {
    let seen = views(text);
    let leaked: Vec<&&str> = MARKERS.iter().filter(|m| seen.contains(**m)).collect();
    assert!(leaked.is_empty(), "{place}: leaked {leaked:?}");
    assert!(
        !seen.to_ascii_lowercase().contains(USER),
        "{place}: the user's address survived"
    );
}

/// Asserts that the ids support needs are still in `text`.
fn assert_ids_kept(place: &str, text: &str) {
    let seen = views(text);
    for id in [CORRELATION, TRACE_ID, "50126", TENANT, APP] {
        assert!(seen.contains(id), "{place}: {id} was lost");
    }
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .output()
        .expect("aadtrace runs")
}

fn stdout(place: &str, out: &std::process::Output) -> String {
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{place}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean(
        &format!("{place} (stderr)"),
        &String::from_utf8_lossy(&out.stderr),
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn planted_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("planted.har");
    std::fs::write(&har, serde_json::to_vec_pretty(&planted_har()).unwrap()).unwrap();
    support::keep_copy(&har);
    let saz = dir.path().join("planted.saz");
    let exchanges = support::load_har(&har);
    assert_eq!(exchanges.len(), 12, "every planted exchange is read");
    let options = support::saz_writer::SazOptions::default();
    let archive = support::saz_writer::write_saz(&exchanges, &options);
    std::fs::write(&saz, with_session_comment(&archive)).unwrap();
    (dir, har, saz)
}

/// The archive with a Fiddler session comment (the `ui-comments` flag of the
/// first `_m.xml`): free text a user typed, here quoting a password.
fn with_session_comment(archive: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut input = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut commented = false;
    for i in 0..input.len() {
        let mut member = input.by_index(i).unwrap();
        let name = member.name().unwrap().to_string();
        let mut data = Vec::new();
        member.read_to_end(&mut data).unwrap();
        if name.ends_with("_m.xml") && !commented {
            let xml = String::from_utf8(data).unwrap().replace(
                "</SessionFlags>",
                "  <SessionFlag N=\"ui-comments\" V=\"user typed password=QXSAZCOMMENT51\" />\r\n  </SessionFlags>",
            );
            assert!(xml.contains("QXSAZCOMMENT51"), "{xml}");
            data = xml.into_bytes();
            commented = true;
        }
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    assert!(commented, "the archive has session metadata");
    out.finish().unwrap().into_inner()
}

/// The trace really holds every marker where the reader can see it: a test
/// that searched for strings the trace never had could not fail.
#[test]
fn every_marker_is_planted() {
    let (_dir, har, saz) = planted_files();
    let text = std::fs::read_to_string(&har).unwrap();
    let seen = views(&format!(
        "{text}\n{}",
        zip_text(&std::fs::read(&saz).unwrap())
    ));
    for m in MARKERS {
        assert!(seen.contains(m), "{m} is not in the planted traces");
    }
    let shown = run(&[
        "analyze".as_ref(),
        "--unsafe-show-secrets".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        har.as_os_str(),
    ]);
    let report = views(&String::from_utf8_lossy(&shown.stdout));
    for m in ["QXPWQUERY01", "QXMSGPW43", "QXSOAPCS47", "QXCIDCODE11"] {
        assert!(report.contains(m), "{m}: the unredacted report shows it");
    }
}

#[test]
fn reports_show_no_secret() {
    let (_dir, har, saz) = planted_files();
    for input in [&har, &saz] {
        for format in ["text", "json", "html"] {
            let place = format!("analyze --format {format} {}", input.display());
            let out = run(&[
                "analyze".as_ref(),
                "--format".as_ref(),
                format.as_ref(),
                input.as_os_str(),
            ]);
            let text = stdout(&place, &out);
            assert_clean(&place, &text);
            assert_ids_kept(&place, &text);
            assert!(
                text.contains("2025-01-01T00:00:0"),
                "{place}: the UTC times"
            );
        }
    }
}

#[test]
fn batch_results_show_no_secret() {
    let (dir, har, saz) = planted_files();
    let out = run(&[
        "batch".as_ref(),
        "--quiet".as_ref(),
        "--format".as_ref(),
        "ndjson".as_ref(),
        har.as_os_str(),
        saz.as_os_str(),
    ]);
    let text = stdout("batch ndjson", &out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_clean("batch ndjson", &text);
    assert_ids_kept("batch ndjson", &text);
    parquet_tables(dir.path(), &har);
}

#[cfg(feature = "parquet")]
fn parquet_tables(dir: &Path, har: &Path) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let out_dir = dir.join("parquet");
    let out = run(&[
        "batch".as_ref(),
        "--quiet".as_ref(),
        "--format".as_ref(),
        "parquet".as_ref(),
        "-o".as_ref(),
        out_dir.as_os_str(),
        har.as_os_str(),
    ]);
    stdout("batch parquet", &out);
    let mut all = String::new();
    for table in ["traces", "flows", "findings"] {
        let file = std::fs::File::open(out_dir.join(format!("{table}.parquet"))).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let rows = reader.get_row_iter(None).unwrap();
        for row in rows {
            all.push_str(&row.unwrap().to_string());
            all.push('\n');
        }
    }
    assert_clean("batch parquet", &all);
    assert_ids_kept("batch parquet", &all);
}

#[cfg(not(feature = "parquet"))]
fn parquet_tables(_dir: &Path, _har: &Path) {}

/// Every text member of a zip, joined.
fn zip_text(bytes: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut all = String::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        all.push_str(&String::from_utf8_lossy(&data));
        all.push('\n');
    }
    all
}

#[test]
fn redacted_copies_keep_no_secret() {
    let (dir, har, saz) = planted_files();
    for (input, name) in [(&har, "copy.har"), (&saz, "copy.saz")] {
        let copy = dir.path().join(name);
        let place = format!("redact {}", input.display());
        let out = run(&[
            "redact".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            copy.as_os_str(),
        ]);
        stdout(&place, &out);
        let bytes = std::fs::read(&copy).unwrap();
        let text = if name.ends_with(".saz") {
            zip_text(&bytes)
        } else {
            String::from_utf8(bytes).unwrap()
        };
        assert_clean(&place, &text);
        assert_ids_kept(&place, &text);
        // The copy still reads, and its report is as clean.
        let report = run(&[
            "analyze".as_ref(),
            "--unsafe-show-secrets".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            copy.as_os_str(),
        ]);
        let shown = stdout(&format!("analyze {name}"), &report);
        assert_clean(&format!("analyze --unsafe-show-secrets {name}"), &shown);
    }
}

/// Traces that cannot be read: the batch summary, and each result's
/// `error.message`, quote a path or part of the trace; both pass the secret
/// policy, and `--unsafe-show-secrets` shows them (so the check can fail).
#[test]
fn unreadable_trace_errors_show_no_secret() {
    const IN_PATH: &str = "QXERRPATH53";
    const IN_TEXT: &str = "QXERRTEXT54";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("x?code={IN_PATH}.har")), "junk").unwrap();
    // serde's message quotes the string it did not expect.
    std::fs::write(
        dir.path().join("echo.har"),
        format!(r#"{{"log":"password={IN_TEXT}"}}"#),
    )
    .unwrap();
    let batch = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["batch".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.push(dir.path().as_os_str());
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("Could not read 2 traces"), "{stderr}");
        let messages: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["error"]["message"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(messages.len(), 2);
        (stderr, messages.join("\n"))
    };
    let (summary, messages) = batch(&[]);
    for (place, text) in [("summary", &summary), ("error.message", &messages)] {
        for marker in [IN_PATH, IN_TEXT] {
            assert!(!text.contains(marker), "{place}: leaked {marker}: {text}");
        }
        assert!(text.contains("[redacted]"), "{place}: {text}");
    }
    let (summary, messages) = batch(&["--unsafe-show-secrets"]);
    for text in [&summary, &messages] {
        assert!(text.contains(IN_PATH) && text.contains(IN_TEXT), "{text}");
    }
}
