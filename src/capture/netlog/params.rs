//! Reading NetLog event params: numbers that may be strings, string params,
//! `source_dependency`, logged bytes and the two forms of header lists.

use base64::Engine as _;
use serde_json::Value;

/// `[N bytes were stripped]`, Chromium's placeholder for a cookie or credential.
pub fn is_stripped(value: &str) -> bool {
    value.starts_with('[') && value.ends_with(" bytes were stripped]")
}

pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

pub(super) fn str_param<'v>(params: &'v Value, key: &str) -> Option<&'v str> {
    params.get(key).and_then(Value::as_str)
}

/// `source_dependency.id` of an event's params.
pub(super) fn dependency(params: &Value) -> Option<u64> {
    params.get("source_dependency")?.get("id")?.as_u64()
}

/// `bytes` (base64) or `hex_encoded_bytes` (old logs).
pub fn param_bytes(params: &Value) -> Option<Vec<u8>> {
    if let Some(b64) = str_param(params, "bytes") {
        return base64::engine::general_purpose::STANDARD.decode(b64).ok();
    }
    let hex = str_param(params, "hex_encoded_bytes")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Header params as (name, value): `["name: value", …]` or `{"name": "value"}`.
/// A first entry without `: ` (a status line) is kept as a name with no value.
pub(super) fn header_list(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|line| {
                // Pseudo-headers start with ':' (":status: 200").
                let search_from = usize::from(line.starts_with(':'));
                match line[search_from..].find(':') {
                    Some(i) if !line.starts_with("HTTP/") => {
                        let i = i + search_from;
                        (
                            line[..i].trim().to_string(),
                            line[i + 1..].trim().to_string(),
                        )
                    }
                    _ => (line.trim().to_string(), String::new()),
                }
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let list =
            serde_json::json!(["HTTP/1.1 302 Found", "location: https://x/", ":status: 200"]);
        assert_eq!(
            header_list(Some(&list)),
            vec![
                ("HTTP/1.1 302 Found".to_string(), String::new()),
                ("location".to_string(), "https://x/".to_string()),
                (":status".to_string(), "200".to_string()),
            ]
        );
        let map = serde_json::json!({"Host": "x", "Content-Length": "3"});
        assert_eq!(header_list(Some(&map)).len(), 2);
    }
}
