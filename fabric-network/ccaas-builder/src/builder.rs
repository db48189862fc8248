//! The three roles of an external builder, as the peer calls them:
//!
//! - `detect SOURCE METADATA`: succeed only for `ccaas` packages;
//! - `build SOURCE METADATA OUTPUT`: check and keep `connection.json` (and any
//!   `META-INF` state-database indexes);
//! - `release OUTPUT RELEASE`: hand `connection.json` to the peer at
//!   `chaincode/server/connection.json`, and indexes at `statedb/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::connection::{self, ConnectionError};

const CONNECTION_FILE: &str = "connection.json";
const INDEXES_DIR: &str = "META-INF";

#[derive(Debug, thiserror::Error)]
pub enum BuilderError {
    /// The package is not a chaincode-as-a-service package.
    #[error("not a ccaas package")]
    NotCcaas,
    #[error("started as {0:?}: the program must be named detect, build or release")]
    UnknownRole(String),
    #[error("{role} takes {expected} directory arguments, got {got}")]
    Arguments {
        role: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: metadata.json is not valid: {reason}")]
    Metadata { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Connection {
        path: PathBuf,
        source: ConnectionError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Detect,
    Build,
    Release,
}

impl Role {
    pub fn from_program(program: &Path) -> Result<Self, BuilderError> {
        let name = program
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match name {
            "detect" => Ok(Role::Detect),
            "build" => Ok(Role::Build),
            "release" => Ok(Role::Release),
            other => Err(BuilderError::UnknownRole(other.to_owned())),
        }
    }

    pub fn run(self, args: &[PathBuf]) -> Result<(), BuilderError> {
        match (self, args) {
            (Role::Detect, [source, metadata]) => detect(source, metadata),
            (Role::Build, [source, metadata, output]) => build(source, metadata, output),
            (Role::Release, [output, release_dir]) => release(output, release_dir),
            (role, args) => Err(BuilderError::Arguments {
                role: role.name(),
                expected: role.arity(),
                got: args.len(),
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Detect => "detect",
            Role::Build => "build",
            Role::Release => "release",
        }
    }

    fn arity(self) -> usize {
        match self {
            Role::Detect | Role::Release => 2,
            Role::Build => 3,
        }
    }
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "type")]
    kind: String,
}

fn detect(_source: &Path, metadata_dir: &Path) -> Result<(), BuilderError> {
    let path = metadata_dir.join("metadata.json");
    let bytes = read(&path)?;
    let metadata: Metadata =
        serde_json::from_slice(&bytes).map_err(|e| BuilderError::Metadata {
            path,
            reason: e.to_string(),
        })?;
    if metadata.kind.eq_ignore_ascii_case("ccaas") {
        Ok(())
    } else {
        Err(BuilderError::NotCcaas)
    }
}

fn build(source: &Path, metadata_dir: &Path, output: &Path) -> Result<(), BuilderError> {
    detect(source, metadata_dir)?;
    let connection = checked_connection(&source.join(CONNECTION_FILE))?;
    write(&output.join(CONNECTION_FILE), &connection)?;
    let indexes = source.join(INDEXES_DIR);
    if indexes.is_dir() {
        copy_tree(&indexes, &output.join(INDEXES_DIR))?;
    }
    Ok(())
}

fn release(output: &Path, release_dir: &Path) -> Result<(), BuilderError> {
    let connection = checked_connection(&output.join(CONNECTION_FILE))?;
    write(
        &release_dir.join("chaincode/server").join(CONNECTION_FILE),
        &connection,
    )?;
    let statedb = output.join(INDEXES_DIR).join("statedb");
    if statedb.is_dir() {
        copy_tree(&statedb, &release_dir.join("statedb"))?;
    }
    Ok(())
}

fn checked_connection(path: &Path) -> Result<Vec<u8>, BuilderError> {
    let bytes = read(path)?;
    connection::validate(&bytes).map_err(|source| BuilderError::Connection {
        path: path.to_owned(),
        source,
    })?;
    Ok(bytes)
}

fn read(path: &Path) -> Result<Vec<u8>, BuilderError> {
    fs::read(path).map_err(|source| BuilderError::Io {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BuilderError> {
    let io_err = |source| BuilderError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err)?;
    }
    fs::write(path, bytes).map_err(io_err)
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BuilderError> {
    let entries = fs::read_dir(from).map_err(|source| BuilderError::Io {
        path: from.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| BuilderError::Io {
            path: from.to_owned(),
            source,
        })?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            write(&target, &read(&path)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONNECTION: &str =
        r#"{"address":"127.0.0.1:7990","dial_timeout":"10s","tls_required":false}"#;

    struct Package {
        _root: tempfile::TempDir,
        source: PathBuf,
        metadata: PathBuf,
        output: PathBuf,
        release: PathBuf,
    }

    fn package(kind: &str, connection: Option<&str>) -> Package {
        let root = tempfile::tempdir().unwrap();
        let dir = |name: &str| {
            let p = root.path().join(name);
            fs::create_dir_all(&p).unwrap();
            p
        };
        let (source, metadata, output, release) = (dir("src"), dir("meta"), dir("out"), dir("rel"));
        fs::write(
            metadata.join("metadata.json"),
            format!(r#"{{"type":"{kind}","label":"x"}}"#),
        )
        .unwrap();
        if let Some(c) = connection {
            fs::write(source.join(CONNECTION_FILE), c).unwrap();
        }
        Package {
            _root: root,
            source,
            metadata,
            output,
            release,
        }
    }

    #[test]
    fn role_comes_from_the_program_name() {
        assert_eq!(
            Role::from_program(Path::new("/x/bin/detect")).unwrap(),
            Role::Detect
        );
        assert_eq!(Role::from_program(Path::new("build")).unwrap(), Role::Build);
        assert_eq!(
            Role::from_program(Path::new("/bin/release")).unwrap(),
            Role::Release
        );
        assert!(matches!(
            Role::from_program(Path::new("/bin/ccaas-builder")),
            Err(BuilderError::UnknownRole(n)) if n == "ccaas-builder"
        ));
    }

    #[test]
    fn detect_accepts_only_ccaas() {
        let p = package("CCaaS", None);
        assert!(detect(&p.source, &p.metadata).is_ok());
        let p = package("golang", None);
        assert!(matches!(
            detect(&p.source, &p.metadata),
            Err(BuilderError::NotCcaas)
        ));
    }

    #[test]
    fn detect_reports_broken_metadata() {
        let p = package("ccaas", None);
        fs::write(p.metadata.join("metadata.json"), "{not json").unwrap();
        assert!(matches!(
            detect(&p.source, &p.metadata),
            Err(BuilderError::Metadata { .. })
        ));
    }

    #[test]
    fn build_then_release_places_connection_json_for_the_peer() {
        let p = package("ccaas", Some(CONNECTION));
        fs::create_dir_all(p.source.join("META-INF/statedb/couchdb/indexes")).unwrap();
        fs::write(
            p.source.join("META-INF/statedb/couchdb/indexes/i.json"),
            "{}",
        )
        .unwrap();
        Role::Build
            .run(&[p.source.clone(), p.metadata.clone(), p.output.clone()])
            .unwrap();
        Role::Release
            .run(&[p.output.clone(), p.release.clone()])
            .unwrap();
        let released = fs::read_to_string(p.release.join("chaincode/server/connection.json"));
        assert_eq!(released.unwrap(), CONNECTION);
        assert!(p.release.join("statedb/couchdb/indexes/i.json").is_file());
    }

    #[test]
    fn build_refuses_a_package_without_or_with_a_bad_connection() {
        let p = package("ccaas", None);
        let err = build(&p.source, &p.metadata, &p.output).unwrap_err();
        assert!(matches!(err, BuilderError::Io { .. }), "{err}");
        let p = package(
            "ccaas",
            Some(r#"{"address":"127.0.0.1:7990","tls_required":"yes"}"#),
        );
        let err = build(&p.source, &p.metadata, &p.output).unwrap_err();
        assert!(matches!(err, BuilderError::Connection { .. }), "{err}");
        assert!(
            !p.output.join(CONNECTION_FILE).exists(),
            "nothing written on failure"
        );
    }

    #[test]
    fn wrong_argument_count_is_named() {
        let err = Role::Build.run(&[PathBuf::from("a")]).unwrap_err();
        assert_eq!(err.to_string(), "build takes 3 directory arguments, got 1");
    }
}
