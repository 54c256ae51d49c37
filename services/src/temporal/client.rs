//! Connecting to the Temporal frontend: a dev server on the laptop, a self-hosted cluster
//! behind TLS or mTLS, or Temporal Cloud with an API key (day 10, docs/temporal-cloud.md).
//!
//! Every role reads one configuration, the SDK's standard one: `TEMPORAL_ADDRESS`,
//! `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, `TEMPORAL_GRPC_META_*`, and
//! `temporal.toml` profiles (`TEMPORAL_PROFILE`, `TEMPORAL_CONFIG_FILE`), loaded by
//! `temporalio_common::envconfig` and turned into connection options by the SDK, exactly as the
//! other SDKs and the `temporal` CLI read them. Our flags (`--temporal-address`, ...) override
//! single settings; where nothing sets an address, ours is the local dev server's.
//!
//! A misconfigured connection fails at start-up with a message that names the setting to
//! fix (a certificate nobody trusts, a missing client certificate, a refused API key); a
//! server that is only not up yet is waited for.

use crate::codec::{self, KeyRing};
use anyhow::Context;
use std::{path::Path, time::Duration};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions,
    envconfig::{ClientConfigProfile, DataSource, LoadClientConfigProfileOptions},
};
use temporalio_common::envconfig::{ClientConfigTLS, load_client_config_profile};

/// Where nothing else says: the dev server `capstone dev` starts.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:7233";
pub const DEFAULT_NAMESPACE: &str = "default";

/// The environment variables of the SDK's configuration that this project documents (the
/// SDK reads a few more: `*_DATA` variants of the TLS files, `TEMPORAL_GRPC_META_*`).
pub const ENVIRONMENT: [&str; 12] = [
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_CERT_DATA",
];

/// Settings given as flags; each overrides the same setting from the environment or profile.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub api_key: Option<String>,
    pub profile: Option<String>,
    pub config_file: Option<String>,
    pub tls: Option<bool>,
    pub server_ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub server_name: Option<String>,
}

/// How to reach Temporal, resolved once. `Debug` shows no secret (the options it holds would
/// print an API key).
#[derive(Clone)]
pub struct TemporalConnection {
    options: ConnectionOptions,
    pub namespace: String,
    /// `host:port` or the URL, as configured: for messages and for `dev`.
    pub address: String,
    /// Which settings are in play, in words (`TLS with a client certificate, an API key`).
    pub description: String,
}

impl std::fmt::Debug for TemporalConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TemporalConnection")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("description", &self.description)
            .finish()
    }
}

impl TemporalConnection {
    /// Plain HTTP/2 to `address` (a dev server, a test's): no environment is read.
    pub fn plain(address: &str, namespace: &str) -> anyhow::Result<Self> {
        let mut profile = ClientConfigProfile::default();
        profile.address = Some(address.to_owned());
        profile.namespace = Some(namespace.to_owned());
        Self::from_profile(profile)
    }

    /// The SDK's environment configuration and `temporal.toml` profile, then `overrides`.
    pub fn resolve(overrides: &Overrides) -> anyhow::Result<Self> {
        let options = LoadClientConfigProfileOptions::builder()
            .maybe_config_source(overrides.config_file.clone().map(DataSource::Path))
            .maybe_config_file_profile(overrides.profile.clone())
            .build();
        let mut profile = load_client_config_profile(options, None).map_err(|error| {
            let error = error.to_string();
            let hint = if error.contains("not found") {
                " (TEMPORAL_PROFILE or --temporal-profile names a profile that the file \
                 TEMPORAL_CONFIG_FILE, by default ~/.config/temporalio/temporal.toml, does not have)"
            } else {
                " (check TEMPORAL_CONFIG_FILE and the profile it holds)"
            };
            anyhow::anyhow!("the Temporal connection settings cannot be loaded: {error}{hint}")
        })?;
        let set = |target: &mut Option<String>, value: &Option<String>| {
            if let Some(value) = value.as_ref().filter(|value| !value.trim().is_empty()) {
                *target = Some(value.trim().to_owned());
            }
        };
        set(&mut profile.address, &overrides.address);
        set(&mut profile.namespace, &overrides.namespace);
        set(&mut profile.api_key, &overrides.api_key);
        let tls_flags =
            [&overrides.server_ca_cert, &overrides.client_cert, &overrides.client_key, &overrides.server_name];
        if overrides.tls.is_some() || tls_flags.iter().any(|flag| flag.is_some()) {
            let tls = profile.tls.get_or_insert_with(ClientConfigTLS::default);
            if let Some(enabled) = overrides.tls {
                tls.disabled = Some(!enabled);
            }
            let path = |value: &Option<String>| value.clone().map(DataSource::Path);
            tls.server_ca_cert = path(&overrides.server_ca_cert).or(tls.server_ca_cert.take());
            tls.client_cert = path(&overrides.client_cert).or(tls.client_cert.take());
            tls.client_key = path(&overrides.client_key).or(tls.client_key.take());
            set(&mut tls.server_name, &overrides.server_name);
        }
        Self::from_profile(profile)
    }

    fn from_profile(mut profile: ClientConfigProfile) -> anyhow::Result<Self> {
        let address = profile.address.get_or_insert_with(|| DEFAULT_ADDRESS.to_owned()).clone();
        let namespace = profile.namespace.clone().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        check_files(&profile)?;
        let description = describe(&profile);
        let options = ConnectionOptions::try_from(profile)
            .map_err(|error| anyhow::anyhow!("the Temporal connection settings are not usable: {error}"))?;
        Ok(Self { options, namespace, address, description })
    }

    /// `(host, port)` of the address, when it is one (`dev` starts its server there).
    pub fn host_port(&self) -> Option<(String, u16)> {
        let url = &self.options.target;
        Some((url.host_str()?.to_owned(), url.port()?))
    }

    pub fn uses_tls(&self) -> bool {
        self.options.tls_options.is_some()
    }
}

/// A file the settings name must exist: the SDK's own error would not say which setting.
fn check_files(profile: &ClientConfigProfile) -> anyhow::Result<()> {
    let Some(tls) = &profile.tls else { return Ok(()) };
    for (setting, source) in [
        ("TEMPORAL_TLS_SERVER_CA_CERT_PATH (tls.server_ca_cert_path)", &tls.server_ca_cert),
        ("TEMPORAL_TLS_CLIENT_CERT_PATH (tls.client_cert_path)", &tls.client_cert),
        ("TEMPORAL_TLS_CLIENT_KEY_PATH (tls.client_key_path)", &tls.client_key),
    ] {
        if let Some(DataSource::Path(path)) = source
            && !Path::new(path).is_file()
        {
            anyhow::bail!("{setting} names {path}, which is not a readable file");
        }
    }
    Ok(())
}

fn describe(profile: &ClientConfigProfile) -> String {
    let tls = match &profile.tls {
        Some(tls) if tls.disabled == Some(true) => "plain HTTP/2".to_owned(),
        Some(tls) => {
            let mut parts = vec!["TLS"];
            if tls.server_ca_cert.is_some() {
                parts.push("with our CA");
            }
            if tls.client_cert.is_some() {
                parts.push("and a client certificate (mTLS)");
            }
            parts.join(" ")
        }
        None if profile.api_key.is_some() => "TLS (the system's CAs)".to_owned(),
        None => "plain HTTP/2".to_owned(),
    };
    if profile.api_key.is_some() { format!("{tls}, an API key") } else { tls }
}

/// Does a Temporal server answer right now?
pub async fn answers(connection: &TemporalConnection) -> bool {
    let options = with_identity(connection, "capstone-probe");
    matches!(tokio::time::timeout(Duration::from_secs(2), Connection::connect(options)).await, Ok(Ok(_)))
}

fn with_identity(connection: &TemporalConnection, identity: &str) -> ConnectionOptions {
    let mut options = connection.options.clone();
    options.identity = format!("{identity}@{}", std::process::id());
    options
}

/// Connects, waiting for up to `patience` for a server that is not up yet (as in `docker
/// compose up` or a Kubernetes rollout), and failing at once, with the setting to fix, when
/// the answer says the settings are wrong. Every payload the client (and each worker built on
/// it) sends is encrypted with `keys` (docs/day-10.md).
pub async fn connect(
    connection: &TemporalConnection,
    identity: &str,
    patience: Duration,
    keys: &KeyRing,
) -> anyhow::Result<Client> {
    let mut options = with_identity(connection, identity);
    // The client's gRPC request metrics (`request_total`, `request_latency_seconds`, ...).
    options.metrics_meter = Some(crate::metrics::sdk::client_meter()?);
    let address = &connection.address;
    let deadline = tokio::time::Instant::now() + patience;
    let mut warned = false;
    let established = loop {
        match tokio::time::timeout(Duration::from_secs(10), Connection::connect(options.clone())).await {
            Ok(Ok(established)) => break established,
            outcome => {
                let error = match outcome {
                    Ok(Err(error)) => format!("{error:?}"),
                    _ => "timed out".to_owned(),
                };
                if let Some(fix) = settings_problem(&error) {
                    anyhow::bail!(
                        "Temporal at {address} ({}) refused this process's connection settings: {fix}\n({})",
                        connection.description,
                        first_line(&error)
                    );
                }
                if tokio::time::Instant::now() >= deadline {
                    anyhow::bail!(
                        "cannot reach Temporal at {address}: {}\n\
                         Start one with `capstone dev` (it starts a dev server for you), or point TEMPORAL_ADDRESS at a running server.",
                        first_line(&error)
                    );
                }
                if !warned {
                    tracing::info!("waiting for Temporal at {address} ({})", first_line(&error));
                    warned = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    // The OpenTelemetry plugin (the global tracer: a no-op unless telemetry.rs installed one)
    // adds StartWorkflow, RunWorkflow, StartActivity and RunActivity spans to the caller's
    // trace; workers built on this client inherit it.
    let client_options = ClientOptions::new(connection.namespace.clone())
        .data_converter(codec::data_converter(keys))
        .plugin(temporalio_sdk::opentelemetry::OpenTelemetryPlugin::builder().build())
        .build();
    Client::new(established, client_options).context("creating the Temporal client")
}

fn first_line(error: &str) -> &str {
    let line = error.lines().next().unwrap_or(error);
    &line[..line.len().min(400)]
}

/// The setting to fix, when a connection error says the settings are wrong rather than that
/// the server is not up. Matched on the error's text: tonic and rustls say it only there.
pub fn settings_problem(error: &str) -> Option<&'static str> {
    let has = |needle: &str| error.contains(needle);
    if has("UnknownIssuer") || has("BadSignature") {
        Some(
            "its TLS certificate is not signed by a CA this process trusts. Set TEMPORAL_TLS_SERVER_CA_CERT_PATH \
             (tls.server_ca_cert_path in a profile) to the CA certificate that signed it.",
        )
    } else if has("NotValidForName") {
        Some(
            "its TLS certificate is not valid for the name this process connects to. Set TEMPORAL_TLS_SERVER_NAME \
             (tls.server_name) to a name the certificate holds, or connect by that name.",
        )
    } else if has("invalid compression flag: 60") || (has("400 Bad Request") && has("nginx")) {
        Some(
            "the server (or the proxy in front of it) answered with an HTTP error page instead of gRPC, which is what \
             a TLS proxy does when it requires a client certificate and got none or one it does not trust. Set \
             TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (tls.client_cert_path, \
             tls.client_key_path) to a certificate signed by the CA the server trusts.",
        )
    } else if has("Unauthenticated") || has("PermissionDenied") || has("401 Unauthorized") {
        Some(
            "it does not accept this process's credentials. Check TEMPORAL_API_KEY (api_key in a profile, \
             --temporal-api-key), and that the key may use TEMPORAL_NAMESPACE.",
        )
    } else if has("InvalidContentType") || has("CorruptMessage") {
        Some(
            "this process speaks TLS to a server that expects plain HTTP/2. Turn TLS off with TEMPORAL_TLS=false \
             (an API key turns TLS on by itself), or connect to the server's TLS port.",
        )
    } else if has("FRAME_SIZE_ERROR") || has("frame with invalid size") {
        Some(
            "this process speaks plain HTTP/2 to a server that expects TLS. Set TEMPORAL_TLS=true, and \
             TEMPORAL_TLS_SERVER_CA_CERT_PATH unless its certificate is signed by a public CA.",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_names_the_setting_to_fix() {
        let cases = [
            (
                "Transport(ConnectError(Custom { error: InvalidCertificate(UnknownIssuer) }))",
                "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
            ),
            ("InvalidCertificate(NotValidForNameContext { expected: DnsName(\"x\") })", "TEMPORAL_TLS_SERVER_NAME"),
            (
                "Status { code: Internal, message: \"protocol error: received message with invalid compression flag: 60\" }",
                "TEMPORAL_TLS_CLIENT_CERT_PATH",
            ),
            ("Status { code: Unauthenticated, message: \"invalid API key\" }", "TEMPORAL_API_KEY"),
            ("ConnectError(Custom { error: InvalidMessage(InvalidContentType) })", "TEMPORAL_TLS=false"),
            ("h2 protocol error: GoAway(b\"\", FRAME_SIZE_ERROR, Library)", "TEMPORAL_TLS=true"),
        ];
        for (error, setting) in cases {
            let fix = settings_problem(error).unwrap_or_else(|| panic!("no fix for {error}"));
            assert!(fix.contains(setting), "{error}: {fix}");
        }
        assert_eq!(settings_problem("tcp connect error: Connection refused (os error 111)"), None);
    }

    #[test]
    fn a_plain_connection_needs_no_environment_and_defaults_to_the_dev_server() {
        let connection = TemporalConnection::plain(DEFAULT_ADDRESS, "shop").unwrap();
        assert_eq!(connection.host_port(), Some(("127.0.0.1".to_owned(), 7233)));
        assert_eq!(connection.namespace, "shop");
        assert!(!connection.uses_tls());
        assert_eq!(connection.description, "plain HTTP/2");
    }

    #[test]
    fn a_missing_certificate_file_is_named_with_its_setting() {
        let overrides = Overrides {
            address: Some("127.0.0.1:1".into()),
            server_ca_cert: Some("/nowhere/ca.pem".into()),
            ..Overrides::default()
        };
        let error = TemporalConnection::resolve(&overrides).unwrap_err().to_string();
        assert!(error.contains("TEMPORAL_TLS_SERVER_CA_CERT_PATH") && error.contains("/nowhere/ca.pem"), "{error}");
    }
}
