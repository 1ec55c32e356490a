#!/usr/bin/env bash
# The e-mail channel's tests talk to a real IMAP server: Debian's Dovecot, started by the test
# fixture itself (tests/channels/mail_peers.py) with a throw-away config, a maildir in the test's
# temp dir and plaintext auth on 127.0.0.1. Here we only make sure the binary is installed; the
# package's own system service is neither needed nor started. (The SMTP peer is aiosmtpd, a dev
# dependency in requirements/dev.in.)
set -euo pipefail
dovecot_ok() { command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/imap ]; }
if ! dovecot_ok; then
  echo "installing Debian dovecot-imapd for the e-mail channel tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d answering 101: the system-wide dovecot service is not started by the install
  # (an existing policy file is left as it is).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends dovecot-core dovecot-imapd >/dev/null
fi
dovecot --version | sed 's/^/dovecot /'
