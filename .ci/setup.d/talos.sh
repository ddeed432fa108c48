#!/usr/bin/env bash
# Tools the Talos config tests (Tests/ClusterKitTests/Talos*.swift) shell out to:
#  - openssl: verifies generated certificates and keys;
#  - python3 with jsonschema and PyYAML: validates every generated config document against the
#    official Talos schemas in ../shared/reference/talos/.
# Idempotent and non-interactive; runs as root on Debian 12.
set -euo pipefail

need_apt=()
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
if ((${#need_apt[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! python3 -c 'import jsonschema, yaml' >/dev/null 2>&1; then
    # Debian 12 marks its Python as externally managed; these two are test-only tools.
    python3 -m pip install --quiet --disable-pip-version-check 'jsonschema>=4.18,<5' 'PyYAML>=6,<7' \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'jsonschema>=4.18,<5' 'PyYAML>=6,<7'
fi

python3 -c 'import jsonschema, yaml' 
openssl version >/dev/null
