//! `connection.json`: how the peer dials a chaincode server.
//!
//! The peer decodes this file strictly (booleans must be JSON booleans, the
//! timeout a Go duration), but only when it first launches the chaincode,
//! long after install. Checking it at build time turns a silent launch
//! failure into an install error that names the field.

use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectionError {
    #[error("connection.json is not valid: {0}")]
    Json(String),
    #[error("connection.json: address {0:?} is not of the form host:port")]
    Address(String),
    #[error("connection.json: dial_timeout {0:?} is not a duration such as \"10s\" or \"500ms\"")]
    DialTimeout(String),
    #[error("connection.json: tls_required is true but {0} is missing or not PEM")]
    MissingTls(&'static str),
}

#[derive(Debug, Deserialize)]
struct Connection {
    address: String,
    #[serde(default)]
    dial_timeout: Option<String>,
    #[serde(default)]
    tls_required: bool,
    #[serde(default)]
    client_auth_required: bool,
    #[serde(default)]
    client_key: Option<String>,
    #[serde(default)]
    client_cert: Option<String>,
    #[serde(default)]
    root_cert: Option<String>,
}

/// Checks the bytes of a `connection.json` the way the peer will read them.
pub fn validate(bytes: &[u8]) -> Result<(), ConnectionError> {
    let conn: Connection =
        serde_json::from_slice(bytes).map_err(|e| ConnectionError::Json(e.to_string()))?;
    validate_address(&conn.address)?;
    if let Some(timeout) = conn.dial_timeout.filter(|t| !is_go_duration(t)) {
        return Err(ConnectionError::DialTimeout(timeout));
    }
    if conn.tls_required {
        require_pem(&conn.root_cert, "root_cert")?;
        if conn.client_auth_required {
            require_pem(&conn.client_cert, "client_cert")?;
            require_pem(&conn.client_key, "client_key")?;
        }
    }
    Ok(())
}

fn validate_address(address: &str) -> Result<(), ConnectionError> {
    let bad = || ConnectionError::Address(address.to_owned());
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(bad());
    }
    Ok(())
}

fn require_pem(value: &Option<String>, field: &'static str) -> Result<(), ConnectionError> {
    match value {
        Some(pem) if pem.contains("-----BEGIN ") && pem.contains("-----END ") => Ok(()),
        _ => Err(ConnectionError::MissingTls(field)),
    }
}

/// Go's `time.ParseDuration` grammar without sign: one or more
/// `<decimal><unit>` groups, e.g. `1m30s`, `1.5s`, `500ms`.
fn is_go_duration(text: &str) -> bool {
    const UNITS: [&str; 7] = ["ns", "us", "µs", "ms", "s", "m", "h"];
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[digits..];
        // Longest unit first so "ms" is not read as "m" followed by "s".
        let Some(unit) = UNITS
            .iter()
            .filter(|u| rest.starts_with(**u))
            .max_by_key(|u| u.len())
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";

    fn tls_connection(client_auth: bool) -> String {
        serde_json::json!({
            "address": "127.0.0.1:9999",
            "dial_timeout": "10s",
            "tls_required": true,
            "client_auth_required": client_auth,
            "client_cert": PEM,
            "client_key": PEM,
            "root_cert": PEM,
        })
        .to_string()
    }

    #[test]
    fn accepts_plain_and_tls_connections() {
        assert_eq!(validate(br#"{"address":"cc.example:7052"}"#), Ok(()));
        assert_eq!(validate(tls_connection(false).as_bytes()), Ok(()));
        assert_eq!(validate(tls_connection(true).as_bytes()), Ok(()));
    }

    #[test]
    fn rejects_string_booleans_as_the_peer_would() {
        let err = validate(br#"{"address":"h:1","tls_required":"true"}"#).unwrap_err();
        assert!(
            matches!(err, ConnectionError::Json(ref m) if m.contains("boolean")),
            "{err}"
        );
    }

    #[test]
    fn rejects_bad_addresses() {
        for address in [
            "",
            "host",
            ":7052",
            "host:",
            "host:0",
            "host:70000",
            "host:x",
        ] {
            let json = serde_json::json!({ "address": address }).to_string();
            assert_eq!(
                validate(json.as_bytes()),
                Err(ConnectionError::Address(address.to_owned())),
                "{address}"
            );
        }
    }

    #[test]
    fn rejects_missing_tls_material() {
        let json = r#"{"address":"h:1","tls_required":true}"#;
        assert_eq!(
            validate(json.as_bytes()),
            Err(ConnectionError::MissingTls("root_cert"))
        );
        let json = serde_json::json!({
            "address": "h:1", "tls_required": true, "client_auth_required": true,
            "root_cert": PEM, "client_cert": PEM,
        })
        .to_string();
        assert_eq!(
            validate(json.as_bytes()),
            Err(ConnectionError::MissingTls("client_key"))
        );
    }

    #[test]
    fn tls_material_is_not_needed_without_tls() {
        let json = r#"{"address":"h:1","tls_required":false,"client_auth_required":true}"#;
        assert_eq!(validate(json.as_bytes()), Ok(()));
    }

    #[test]
    fn go_durations() {
        for good in ["10s", "500ms", "1m30s", "1.5h", "3us", "2µs", "7ns"] {
            assert!(is_go_duration(good), "{good}");
        }
        for bad in ["", "10", "s", "10 s", "-1s", "1.2.3s", ".s", "10sec", "1d"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
