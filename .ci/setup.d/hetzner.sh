#!/usr/bin/env bash
# Hetzner provider tests: libcurl headers for the CCurl module, and python3 + jsonschema for
# checking recorded API traffic against ../shared/reference/hetzner/cloud.spec.json.
# Idempotent and non-interactive; runs as root on Debian 12. The work runs in a subshell so that
# .ci/run, which sources this file, keeps its own shell options.
(
    set -euo pipefail
    export DEBIAN_FRONTEND=noninteractive

    need_apt=()
    dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need_apt+=(libcurl4-openssl-dev)
    command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
    if ! python3 -c 'import jsonschema; jsonschema.Draft202012Validator' >/dev/null 2>&1; then
        need_apt+=(python3-jsonschema)
    fi
    if [ "${#need_apt[@]}" -gt 0 ]; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
    fi
    # A python3 outside Debian's (e.g. /usr/local) does not see apt's modules: fall back to pip.
    if ! python3 -c 'import jsonschema; jsonschema.Draft202012Validator' >/dev/null 2>&1; then
        python3 -m pip install --quiet --break-system-packages 'jsonschema>=4.10' 2>/dev/null \
            || python3 -m pip install --quiet 'jsonschema>=4.10'
    fi
    python3 -c 'import jsonschema; jsonschema.Draft202012Validator' \
        || { echo "hetzner.sh: python3 jsonschema still missing" >&2; exit 1; }
) || { echo "hetzner.sh: setup failed" >&2; return 1 2>/dev/null || exit 1; }
