//! The command line, as clap derive types. Parsing only: each command's
//! module turns its arguments into library calls. The identity options
//! (`--network`, `--org`, `--user`) belong to `ehrx` itself and come before
//! the subcommand, so a subcommand may name another user (`admin
//! clear-flag --user`) without ambiguity.

use std::{path::PathBuf, time::Duration};

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use ehrx_client::proto::exchange::Purpose;

/// Secure EHR exchange between Hyperledger Fabric networks.
#[derive(Debug, Parser)]
#[command(
    name = "ehrx",
    version,
    after_help = "The identity options (--network, --org, --user) and --json go before the subcommand."
)]
pub struct Cli {
    /// Which network and identity to act as.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The network description and the identity in it.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The network's description (`.network/<net>/network.json`).
    #[arg(long, env = "EHRX_NETWORK", value_name = "NETWORK_JSON")]
    pub network: Option<PathBuf>,
    /// The organisation, by MSP id or name.
    #[arg(long, env = "EHRX_ORG")]
    pub org: Option<String>,
    /// The user of that organisation in the description (e.g. `Admin`, `User2`).
    #[arg(long, env = "EHRX_USER")]
    pub user: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Organisation admin tasks: set a network up, clear flags, network keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Make key files.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Upload patient records.
    #[command(subcommand)]
    Ehr(EhrCommand),
    /// Request a patient's history from another network and wait for it.
    ///
    /// Exit status: 0 when a reply is ready to read, 3 when the request was
    /// refused (here or by the other network), 4 when no outcome came before
    /// the timeout, 1 on any error.
    Request(RequestArgs),
    /// Read replies.
    #[command(subcommand)]
    Reply(ReplyCommand),
    /// The state of one request, or of all the caller's requests.
    Status(StatusArgs),
    /// The audit trail of a patient, of admin changes or of security
    /// events; a patient's accounting of disclosures; break-glass events.
    Audit(AuditArgs),
    /// Patients' consents on this network (an org admin or a registered
    /// consent manager).
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Run this network's relay until SIGTERM or Ctrl-C.
    Relay(RelayArgs),
    /// Run a responder until SIGTERM or Ctrl-C.
    Responder(ConfigArgs),
    /// Check on running relays and responders.
    #[command(subcommand)]
    Services(ServicesCommand),
}

impl Command {
    /// Whether this runs until stopped (and so logs its progress).
    pub fn is_service(&self) -> bool {
        matches!(self, Self::Relay(_) | Self::Responder(_))
    }
}

/// `ehrx admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Apply a declarative setup file to this network; re-running it is safe.
    Setup {
        /// The setup file (JSON).
        #[arg(long)]
        file: PathBuf,
    },
    /// Clear the flag of an identity that exceeded the rate limit.
    ClearFlag {
        /// The flagged user's name in the description.
        #[arg(long)]
        user: String,
        /// The flagged user's organisation (default: the admin's).
        #[arg(long)]
        user_org: Option<String>,
    },
    /// Print the public key (hex) of a network key, for the other networks'
    /// lookup tables.
    NetworkKey {
        /// The network's Ed25519 secret key file (64 hex digits).
        #[arg(long)]
        key_file: PathBuf,
    },
}

/// `ehrx keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a requester's X25519 key file (owner-only) and print its
    /// public key, which the admin registers.
    Requester {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate a network's Ed25519 key file (owner-only, 64 hex digits),
    /// with which its relay attests what leaves the network, and print its
    /// public key for the other networks' lookup tables.
    ///
    /// The relay uses it with `ehrx relay --config relay.json
    /// --network-key-file <file>` (or the file's `network_key_file`).
    Network {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate the consortium's matching key (owner-only, 64 hex digits),
    /// or show the fingerprint of one.
    ///
    /// Every network of a consortium turns a patient's name, date of birth
    /// and SSN into the same patient_ref with this one secret key, so that
    /// a request from one network finds the patient's records on another.
    /// One admin makes it once, for the whole consortium, and hands the
    /// file to every member network's admin out of band: in person, or
    /// encrypted to them (age, GPG); never by plain e-mail, and never over
    /// the exchange itself. Each member then runs `ehrx keys matching
    /// --fingerprint <file>` and compares the fingerprint with the maker's
    /// over another channel (a phone call). Every uploader and requester of
    /// a network needs the file (`--matching-key`); keep it owner-only. A
    /// leaked key lets its holder test guessed identities against patient
    /// refs: the consortium then makes a new key and uploads its records
    /// again under the new refs.
    #[command(group = ArgGroup::new("matching_key").required(true))]
    Matching {
        /// Where to write a new key; an existing file is never overwritten.
        #[arg(long, group = "matching_key")]
        out: Option<PathBuf>,
        /// Show the fingerprint of this existing key file instead.
        #[arg(long, value_name = "KEY_FILE", group = "matching_key")]
        fingerprint: Option<PathBuf>,
    },
}

/// Who the patient is: identifiers keyed into a `patient_ref`, or the ref.
#[derive(Debug, Clone, Args)]
pub struct PatientArgs {
    /// The patient's name.
    #[arg(long, requires_all = ["dob", "ssn", "matching_key"], required_unless_present = "patient_ref")]
    pub patient_name: Option<String>,
    /// The patient's date of birth, YYYY-MM-DD.
    #[arg(long, requires = "patient_name")]
    pub dob: Option<String>,
    /// The patient's social security number.
    #[arg(long, requires = "patient_name")]
    pub ssn: Option<String>,
    /// The consortium's matching key file (64 hex digits).
    #[arg(long, requires = "patient_name")]
    pub matching_key: Option<PathBuf>,
    /// The patient_ref itself (64 hex digits), instead of the identifiers.
    #[arg(long, conflicts_with = "patient_name")]
    pub patient_ref: Option<String>,
}

/// `ehrx ehr …`.
#[derive(Debug, Subcommand)]
pub enum EhrCommand {
    /// Upload FHIR R4 JSON files (resources or Bundles) as a patient's records.
    Put {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Whose records they are.
        #[command(flatten)]
        patient: PatientArgs,
    },
    /// Upload generated patients (synthetic identifiers, never real ones)
    /// and print their identifiers and patient refs.
    Synthetic {
        /// The generator's seed: the same seed gives the same patients.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many patients.
        #[arg(long, default_value_t = 1)]
        count: usize,
        /// The consortium's matching key file (64 hex digits).
        #[arg(long)]
        matching_key: PathBuf,
    },
}

/// Why a history is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    /// Ongoing care.
    Treatment,
    /// An emergency.
    Emergency,
    /// A referral.
    Referral,
}

impl From<PurposeArg> for Purpose {
    fn from(purpose: PurposeArg) -> Self {
        match purpose {
            PurposeArg::Treatment => Self::Treatment,
            PurposeArg::Emergency => Self::Emergency,
            PurposeArg::Referral => Self::Referral,
        }
    }
}

/// `ehrx request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The network asked, by its id in the lookup table.
    #[arg(long)]
    pub to: String,
    /// Whose history.
    #[command(flatten)]
    pub patient: PatientArgs,
    /// Only records of this FHIR resource type (repeatable; default: all).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// Why.
    #[arg(long, value_enum, default_value_t = PurposeArg::Treatment)]
    pub purpose: PurposeArg,
    /// The requester code the admin registered for this user.
    #[arg(long)]
    pub requester_code: String,
    /// The requester's key file (from `ehrx keys requester`).
    #[arg(long)]
    pub requester_key: PathBuf,
    /// The folder where each request's reply key is kept.
    #[arg(long)]
    pub key_store: PathBuf,
    /// How long to wait for the outcome: `90`, `90s`, `2m` or `500ms`.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// `ehrx reply …`.
#[derive(Debug, Subcommand)]
pub enum ReplyCommand {
    /// Read a reply: fetch, verify, decrypt, check each record, render.
    Show(ReplyShowArgs),
}

/// `ehrx reply show`.
// One of the two keys is required as a group, so a usage error names both
// rather than sending a doctor who forgot --key-store to find their
// requester key.
#[derive(Debug, Args)]
#[command(group = ArgGroup::new("reply_key").required(true).multiple(true))]
pub struct ReplyShowArgs {
    /// The request.
    pub request_id: String,
    /// The requester's key file, used when the key store has no key for the
    /// request.
    #[arg(long, group = "reply_key")]
    pub requester_key: Option<PathBuf>,
    /// The folder `ehrx request` kept the request's reply key in.
    #[arg(long, group = "reply_key")]
    pub key_store: Option<PathBuf>,
    /// Write the summary as a standalone HTML page here instead of text:
    /// a provenance banner (where the records came from, what was
    /// verified), the IPS sections, vital-sign charts. A reply that fails
    /// verification gets a red banner and no records.
    #[arg(long, value_name = "OUT_HTML")]
    pub html: Option<PathBuf>,
    /// Write the records as a FHIR R4 document Bundle for import into an
    /// EHR: a Composition whose sections follow the International Patient
    /// Summary and reference the received resources, included unchanged.
    #[arg(long, value_name = "OUT_JSON")]
    pub fhir_ips: Option<PathBuf>,
}

/// `ehrx status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One request; without it, every request of the caller.
    pub request_id: Option<String>,
}

/// `ehrx audit`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// A patient_ref (64 hex digits), `admin` or `security`.
    #[arg(required = true)]
    pub subject: Option<String>,
    /// A report instead of the raw trail.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
}

/// `ehrx audit disclosures|watch`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// A patient's accounting of disclosures on this network, from the
    /// ledger's audit entries: date, recipient network and requester,
    /// purpose, records, and the consent or break-glass that allowed it.
    Disclosures {
        /// The patient_ref (64 hex digits).
        #[arg(long)]
        patient: String,
        /// `text`, `html` or `fhir` (a Bundle of AuditEvent resources).
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Follow this network's break-glass events (one line each), from
    /// `--from-block` on, until `--count` were seen or `--timeout` passed.
    Watch {
        /// The first block to read (0: the whole history).
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
        /// Stop after this long: `90`, `90s`, `2m` or `500ms` (default:
        /// never).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
}

/// The form of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Plain text.
    Text,
    /// A standalone HTML page.
    Html,
    /// FHIR R4 JSON.
    Fhir,
}

/// `ehrx consent …`.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Store (or replace, by id) a patient's consent: a FHIR R4 `Consent`
    /// file, or one built from the options.
    Put(ConsentPutArgs),
    /// Revoke a patient's consent, from this transaction on.
    Revoke {
        /// The patient_ref (64 hex digits).
        #[arg(long)]
        patient: String,
        /// The consent's id.
        #[arg(long)]
        id: String,
    },
    /// A patient's consents here, revoked ones too.
    List {
        /// The patient_ref (64 hex digits).
        #[arg(long)]
        patient: String,
    },
}

/// `ehrx consent put`.
#[derive(Debug, Args)]
pub struct ConsentPutArgs {
    /// A FHIR R4 `Consent` resource (JSON) to store as is.
    #[arg(long, conflicts_with_all = ["patient", "id", "to_network", "to_org", "to_requester", "purposes", "categories", "from", "until"])]
    pub file: Option<PathBuf>,
    /// The patient_ref (64 hex digits).
    #[arg(long, required_unless_present = "file")]
    pub patient: Option<String>,
    /// The consent's id (a FHIR id).
    #[arg(long, required_unless_present = "file")]
    pub id: Option<String>,
    /// Any requester of this network may receive (repeatable).
    #[arg(long = "to-network")]
    pub to_network: Vec<String>,
    /// Any requester of this organisation may receive:
    /// `<network>/<MSP id>` (repeatable).
    #[arg(long = "to-org")]
    pub to_org: Vec<String>,
    /// This requester may receive: `<network>/<requester code>`
    /// (repeatable).
    #[arg(long = "to-requester")]
    pub to_requester: Vec<String>,
    /// For this purpose (repeatable; at least one).
    #[arg(long = "purpose", value_enum)]
    pub purposes: Vec<PurposeArg>,
    /// Only this FHIR resource type (repeatable; default: every category).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// In force from (RFC 3339 or YYYY-MM-DD; default: now).
    #[arg(long)]
    pub from: Option<String>,
    /// In force until (RFC 3339, exclusive, or YYYY-MM-DD, inclusive).
    #[arg(long, required_unless_present = "file")]
    pub until: Option<String>,
}

/// `ehrx responder`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The configuration file (JSON).
    #[arg(long)]
    pub config: PathBuf,
}

/// `ehrx relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The configuration file (JSON).
    #[arg(long)]
    pub config: PathBuf,
    /// The network's key file (from `ehrx keys network`), instead of the
    /// file's `network_key_file`; also used on reloads.
    #[arg(long, value_name = "KEY_FILE")]
    pub network_key_file: Option<PathBuf>,
}

/// `ehrx services …`.
#[derive(Debug, Subcommand)]
pub enum ServicesCommand {
    /// Wait until relays and responders are ready: their network's peer
    /// answered and their event stream is open, as their health endpoints
    /// report. Exits 0 once all are, 1 (naming what each still waits for)
    /// at the timeout.
    Wait(WaitArgs),
}

/// `ehrx services wait`.
#[derive(Debug, Args)]
#[command(group = ArgGroup::new("services").required(true).multiple(true))]
pub struct WaitArgs {
    /// A relay's or responder's configuration file, whose
    /// `health_address` is polled (repeatable).
    #[arg(long = "config", value_name = "CONFIG", group = "services")]
    pub configs: Vec<PathBuf>,
    /// A health endpoint's address, `host:port` (repeatable).
    #[arg(long = "health", value_name = "HOST:PORT", group = "services")]
    pub health: Vec<String>,
    /// How long to wait: `90`, `90s`, `2m` or `500ms`.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// A duration as `<n>`, `<n>s`, `<n>m` or `<n>ms` (whole numbers).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit): (&str, fn(u64) -> Duration) = if let Some(n) = text.strip_suffix("ms") {
        (n, Duration::from_millis)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, Duration::from_secs)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, |m| Duration::from_secs(m.saturating_mul(60)))
    } else {
        (text, Duration::from_secs)
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 2m or 500ms"))?;
    if value == 0 {
        return Err("the duration must be more than zero".into());
    }
    Ok(unit(value))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::{CommandFactory as _, Parser as _, error::ErrorKind};

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ehrx").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_identity_options_come_before_the_subcommand() {
        let cli = parse(&[
            "--network",
            "net1.json",
            "--org",
            "Net1Org1MSP",
            "--user",
            "Admin",
            "--json",
            "admin",
            "clear-flag",
            "--user",
            "User2",
        ])
        .unwrap();
        assert_eq!(cli.target.user.as_deref(), Some("Admin"));
        assert!(cli.json);
        match cli.command {
            Command::Admin(AdminCommand::ClearFlag { user, user_org }) => {
                assert_eq!(user, "User2");
                assert_eq!(user_org, None);
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn a_request_takes_identifiers_categories_purpose_and_timeout() {
        let cli = parse(&[
            "request",
            "--to",
            "net2",
            "--patient-name",
            "Ada Lovelace",
            "--dob",
            "1815-12-10",
            "--ssn",
            "900-12-3456",
            "--matching-key",
            "m.key",
            "--category",
            "Condition",
            "--category",
            "Observation",
            "--purpose",
            "emergency",
            "--requester-code",
            "DR-0001",
            "--requester-key",
            "r.key",
            "--key-store",
            "keys",
            "--timeout",
            "2m",
        ])
        .unwrap();
        let Command::Request(request) = cli.command else {
            panic!("not a request");
        };
        assert_eq!(request.to, "net2");
        assert_eq!(request.categories, ["Condition", "Observation"]);
        assert_eq!(request.purpose, PurposeArg::Emergency);
        assert_eq!(Purpose::from(request.purpose), Purpose::Emergency);
        assert_eq!(request.timeout, Duration::from_secs(120));
        assert_eq!(request.patient.dob.as_deref(), Some("1815-12-10"));
    }

    #[test]
    fn a_request_defaults_to_treatment_within_two_minutes() {
        let cli = parse(&[
            "request",
            "--to",
            "net2",
            "--patient-ref",
            &"ab".repeat(32),
            "--requester-code",
            "DR-1",
            "--requester-key",
            "r.key",
            "--key-store",
            "keys",
        ])
        .unwrap();
        let Command::Request(request) = cli.command else {
            panic!("not a request");
        };
        assert_eq!(request.purpose, PurposeArg::Treatment);
        assert_eq!(request.timeout, Duration::from_secs(120));
    }

    #[test]
    fn patient_identifiers_come_whole_or_as_a_ref() {
        // Nothing to say who.
        let none = parse(&["ehr", "put", "a.json"]).unwrap_err();
        assert_eq!(none.kind(), ErrorKind::MissingRequiredArgument);
        // A name without the rest.
        let partial = parse(&["ehr", "put", "a.json", "--patient-name", "Ada"]).unwrap_err();
        assert_eq!(partial.kind(), ErrorKind::MissingRequiredArgument);
        // Both ways at once.
        let both = parse(&[
            "ehr",
            "put",
            "a.json",
            "--patient-ref",
            "00",
            "--patient-name",
            "Ada",
            "--dob",
            "1815-12-10",
            "--ssn",
            "900123456",
            "--matching-key",
            "m",
        ])
        .unwrap_err();
        assert_eq!(both.kind(), ErrorKind::ArgumentConflict);
        // No files.
        let no_files = parse(&["ehr", "put", "--patient-ref", "00"]).unwrap_err();
        assert_eq!(no_files.kind(), ErrorKind::MissingRequiredArgument);
        let cli = parse(&["ehr", "put", "a.json", "b.json", "--patient-ref", "00"]).unwrap();
        let Command::Ehr(EhrCommand::Put { files, patient }) = cli.command else {
            panic!("not ehr put");
        };
        assert_eq!(files.len(), 2);
        assert_eq!(patient.patient_ref.as_deref(), Some("00"));
    }

    #[test]
    fn unknown_purposes_and_bad_timeouts_are_refused() {
        let base = [
            "request",
            "--to",
            "net2",
            "--patient-ref",
            "00",
            "--requester-code",
            "DR-1",
            "--requester-key",
            "k",
            "--key-store",
            "s",
        ];
        let mut purpose = base.to_vec();
        purpose.extend(["--purpose", "curiosity"]);
        assert_eq!(parse(&purpose).unwrap_err().kind(), ErrorKind::InvalidValue);
        let mut timeout = base.to_vec();
        timeout.extend(["--timeout", "soon"]);
        assert_eq!(
            parse(&timeout).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn reply_show_needs_a_key_store_or_the_requester_key() {
        let missing = parse(&["reply", "show", "id"]).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::MissingRequiredArgument);
        // The message offers both ways to the key, not only the fallback.
        let text = missing.to_string();
        assert!(
            text.contains("--requester-key") && text.contains("--key-store"),
            "{text}"
        );
        for keys in [
            &["--key-store", "k"][..],
            &["--requester-key", "r.key"],
            &["--key-store", "k", "--requester-key", "r.key"],
        ] {
            let args: Vec<&str> = ["reply", "show", "id"]
                .iter()
                .chain(keys)
                .copied()
                .collect();
            parse(&args).unwrap();
        }
        for (option, html, ips) in [
            ("--html", Some("o.html"), None),
            ("--fhir-ips", None, Some("o.json")),
        ] {
            let file = html.or(ips).unwrap();
            let cli = parse(&["reply", "show", "id", "--key-store", "k", option, file]).unwrap();
            let Command::Reply(ReplyCommand::Show(show)) = cli.command else {
                panic!("not reply show");
            };
            assert_eq!(show.html, html.map(PathBuf::from));
            assert_eq!(show.fhir_ips, ips.map(PathBuf::from));
            assert!(show.requester_key.is_none());
        }
    }

    #[test]
    fn services_status_and_audit_parse() {
        let relay = parse(&["relay", "--config", "relay.json"]).unwrap();
        assert!(relay.command.is_service());
        let responder = parse(&["responder", "--config", "r.json"]).unwrap();
        assert!(responder.command.is_service());
        let status = parse(&["status"]).unwrap();
        assert!(matches!(
            status.command,
            Command::Status(StatusArgs { request_id: None })
        ));
        assert!(!status.command.is_service());
        let audit = parse(&["--json", "audit", "security"]).unwrap();
        assert!(
            matches!(audit.command, Command::Audit(AuditArgs { subject: Some(ref subject), command: None }) if subject == "security")
        );
        let synthetic =
            parse(&["ehr", "synthetic", "--matching-key", "m", "--count", "3"]).unwrap();
        assert!(matches!(
            synthetic.command,
            Command::Ehr(EhrCommand::Synthetic {
                seed: 1,
                count: 3,
                ..
            })
        ));
        assert_eq!(
            parse(&["relay"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        let relay = parse(&["relay", "--config", "r.json", "--network-key-file", "k.hex"]).unwrap();
        assert!(
            matches!(relay.command, Command::Relay(RelayArgs { network_key_file: Some(ref k), .. }) if k == Path::new("k.hex"))
        );
    }

    #[test]
    fn services_wait_needs_something_to_wait_for() {
        let missing = parse(&["services", "wait"]).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::MissingRequiredArgument);
        let cli = parse(&[
            "services",
            "wait",
            "--config",
            "relay.json",
            "--config",
            "responder.json",
            "--health",
            "127.0.0.1:9",
            "--timeout",
            "2m",
        ])
        .unwrap();
        let Command::Services(ServicesCommand::Wait(wait)) = cli.command else {
            panic!("not services wait");
        };
        assert_eq!(wait.configs.len(), 2);
        assert_eq!(wait.health, ["127.0.0.1:9"]);
        assert_eq!(wait.timeout, Duration::from_secs(120));
        let cli = parse(&["services", "wait", "--health", "h:1"]).unwrap();
        let Command::Services(ServicesCommand::Wait(wait)) = cli.command else {
            panic!("not services wait");
        };
        assert_eq!(wait.timeout, Duration::from_secs(60));
    }

    #[test]
    fn keys_matching_makes_a_key_or_shows_a_fingerprint() {
        let make = parse(&["keys", "matching", "--out", "m.key"]).unwrap();
        assert!(matches!(
            make.command,
            Command::Keys(KeysCommand::Matching {
                out: Some(_),
                fingerprint: None
            })
        ));
        let show = parse(&["keys", "matching", "--fingerprint", "m.key"]).unwrap();
        assert!(matches!(
            show.command,
            Command::Keys(KeysCommand::Matching {
                out: None,
                fingerprint: Some(_)
            })
        ));
        assert_eq!(
            parse(&["keys", "matching"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse(&["keys", "matching", "--out", "a", "--fingerprint", "b"])
                .unwrap_err()
                .kind(),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn durations_read_seconds_minutes_and_milliseconds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("").is_err());
    }
}
