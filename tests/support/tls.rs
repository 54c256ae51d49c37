//! A TLS-terminating proxy in front of a dev server, for the secured-connection tests: nginx
//! (Debian's package) with `grpc_pass`, certificates made with openssl, on loopback ports.
//!
//! | port | what it checks | like |
//! |---|---|---|
//! | `tls` | nothing: TLS only | a self-hosted frontend with a private CA |
//! | `mtls` | a client certificate signed by our CA | a self-hosted mTLS frontend, or Temporal Cloud with mTLS |
//! | `api_key` | `authorization: Bearer <key>`; the operator API closed | Temporal Cloud with an API key |

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

pub struct TlsProxy {
    pub dir: tempfile::TempDir,
    child: Child,
    pub tls: u16,
    pub mtls: u16,
    pub api_key: u16,
    /// The key the `api_key` port accepts.
    pub key: String,
}

fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|path| path.exists())
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {}", args.join(" "));
}

/// A CA (`{name}.pem`, `{name}.key`) and a certificate it signs (`{leaf}.pem`, `{leaf}.key`).
fn make_certificates(dir: &Path) {
    let ca = |name: &str| {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    };
    ca("ca");
    ca("wrong-ca");
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (leaf, signer) in [("server", "ca"), ("client", "ca"), ("stranger", "wrong-ca")] {
        let extension = if leaf == "server" { "server.ext" } else { "client.ext" };
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN=capstone-test-{leaf}"),
                "-keyout",
                &format!("{leaf}.key"),
                "-out",
                &format!("{leaf}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{leaf}.csr"),
                "-CA",
                &format!("{signer}.pem"),
                "-CAkey",
                &format!("{signer}.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                extension,
                "-out",
                &format!("{leaf}.pem"),
            ],
        );
    }
}

impl TlsProxy {
    /// Starts the proxy in front of `upstream` (`host:port`), or says why it cannot: `None`
    /// outside CI when nginx or openssl is missing (`scripts/setup.sh` installs both).
    pub async fn start(upstream: &str) -> Option<Self> {
        let (Some(nginx), true) = (nginx(), which("openssl")) else {
            assert!(std::env::var_os("CI").is_none(), "nginx and openssl are needed here: run scripts/setup.sh");
            eprintln!("skipped: nginx or openssl is not installed (scripts/setup.sh installs them)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        make_certificates(dir.path());
        let [tls, mtls, api_key] = capstone_processes::free_ports_where_zero("127.0.0.1", [0, 0, 0]).unwrap();
        let key = format!("tk_{}", uuid::Uuid::new_v4().simple());
        let d = dir.path().display();
        let config = format!(
            r#"daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
  log_format grpc '$server_port "$request" status=$status auth="$http_authorization" client_dn="$ssl_client_s_dn" verify=$ssl_client_verify';
  access_log {d}/access.log grpc;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  # Worker long polls last up to 70 s: nginx's default 60 s read timeout would cut them.
  grpc_read_timeout 120s;
  grpc_send_timeout 120s;
  ssl_certificate {d}/server.pem;
  ssl_certificate_key {d}/server.key;
  server {{
    listen 127.0.0.1:{tls} ssl http2;
    location / {{ grpc_pass grpc://{upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{mtls} ssl http2;
    ssl_client_certificate {d}/ca.pem;
    ssl_verify_client on;
    location / {{ grpc_pass grpc://{upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{api_key} ssl http2;
    default_type application/grpc;
    # Like Temporal Cloud: no operator API for a namespace's key.
    location /temporal.api.operatorservice.v1.OperatorService/ {{
      add_header grpc-status 7 always;
      add_header grpc-message "PermissionDenied: the operator API is not available to this key" always;
      return 200;
    }}
    location / {{
      if ($http_authorization != "Bearer {key}") {{
        add_header grpc-status 16 always;
        add_header grpc-message "Unauthenticated: invalid API key" always;
        return 200;
      }}
      grpc_pass grpc://{upstream};
    }}
  }}
}}
"#
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(nginx)
            .arg("-c")
            .arg(&config_path)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts");
        let proxy = Self { dir, child, tls, mtls, api_key, key };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        for port in [tls, mtls, api_key] {
            while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "nginx never listened on {port}: {}",
                    proxy.error_log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Some(proxy)
    }

    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The environment of a role that connects through the mTLS port.
    pub fn mtls_env(&self) -> Vec<(String, String)> {
        vec![
            ("TEMPORAL_ADDRESS".into(), format!("127.0.0.1:{}", self.mtls)),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH".into(), self.file("ca.pem")),
            ("TEMPORAL_TLS_CLIENT_CERT_PATH".into(), self.file("client.pem")),
            ("TEMPORAL_TLS_CLIENT_KEY_PATH".into(), self.file("client.key")),
        ]
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn which(program: &str) -> bool {
    std::process::Command::new(program).arg("version").output().is_ok()
}
