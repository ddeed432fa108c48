#!/usr/bin/env bash
# Fetches the upstream reference data the tests check against (Talos schemas and talosctl output,
# Talos' machine API protos, Hetzner's OpenAPI document, Proxmox's API description, Flux's CRDs and
# bootstrap files) at pinned versions, checks each file against the SHA-256 recorded below, and
# writes it atomically under .reference/ (git-ignored). Nothing here is copied into the repository.
#
#   bash scripts/fetch-reference.sh                 # download into .reference/
#   bash scripts/fetch-reference.sh --dest DIR      # somewhere else (then CLUSTERCTL_REFERENCE_DIR=DIR)
#   bash scripts/fetch-reference.sh --from DIR      # read local copies (DIR/<source name>) instead of
#                                                   # downloading: same conversion and checks, offline
#   bash scripts/fetch-reference.sh --list          # print the pinned sources and exit
#
# A file already present with the recorded hash is left alone. A hash mismatch stops the script,
# names the file and leaves what was there before untouched. Exit code 0 when every file is in
# place and verified, 1 otherwise.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.reference"
from=""
list=no
while [ $# -gt 0 ]; do
    case "$1" in
        --dest) dest="${2:?--dest needs a folder}"; shift 2 ;;
        --from) from="${2:?--from needs a folder}"; shift 2 ;;
        --list) list=yes; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fetch-reference.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

gh="https://raw.githubusercontent.com"
# The pins, as ../shared/reference/*/SOURCE.md records them. Talos' schema and stability files are
# pinned by the abbreviated commits SOURCE.md gives (GitHub resolves them; the hashes below make
# any other content fail).
talos_main="$gh/siderolabs/talos/ad8823176"
talos_stability="$talos_main/pkg/machinery/config/types/v1alpha1/testdata/stability"
talos_tag="$gh/siderolabs/talos/v1.13.9"
talos_docs="$gh/siderolabs/docs/5debdd9"
hetzner="$gh/triargos/effect-hcloud/a2bc731e86da07ee336184f49b989e5bcf3eaf0d"
proxmox="$gh/proxmox/pve-docs/a8736b6d6169ea9679ee02285ea36fdab42e85c3"
source_controller="$gh/fluxcd/source-controller/v1.9.1"
kustomize_controller="$gh/fluxcd/kustomize-controller/v1.9.4"
flux_sync="$gh/Funnyadd/infra/f07509e3f32677d0e31b70a1c93cb2c5e2f5abfa"
flux_components="$gh/Veirt/homelab-gitops/db728a2cd3709130e93567cd5bd5f0dc75f0f909"

# destination | source name (for --from) | URL | conversion | sha256 of the file as stored
manifest=(
    "talos/config.v1.14plus.schema.json|talos/config.v1.14plus.schema.json|$talos_main/website/content/v1.15/schemas/config.schema.json|none|5f7d1474143989a774ad1b14138297954ecc235a757dbc28e4fd28ed2be3ec2e"
    "talos/config.v1.13.schema.json|talos/config.v1.13.schema.json|$talos_docs/public/talos/v1.13/schemas/config.schema.json|none|4b575ad98e2b5c446b4885be11dcef16c1617b998d43e276d691bc0e83d35625"
    "talos/examples/secrets.yaml|talos/examples/secrets.yaml|$talos_stability/secrets.yaml|none|e4ff51929b640ff743311cc3dd1fe476176b3081b3c9929ee94e079d1df32884"
    "talos/examples/v1.13-base-controlplane.yaml|talos/examples/v1.13-base-controlplane.yaml|$talos_stability/v1.13/base-controlplane.yaml|none|2abe4409246831281103d1b0dd036363aae2f88931291b7418b03241f8aa2b56"
    "talos/examples/v1.13-base-worker.yaml|talos/examples/v1.13-base-worker.yaml|$talos_stability/v1.13/base-worker.yaml|none|17ece0b6b4e321a4b069ce3dbd279d3fe088f90383cece99887147a5a209e844"
    "talos/examples/v1.14-base-controlplane.yaml|talos/examples/v1.14-base-controlplane.yaml|$talos_stability/v1.14/base-controlplane.yaml|none|576f40cc67bf56bb421432e431072d463cae4b8dae1ccb9b19802e93f479b409"
    "talos/examples/v1.14-base-worker.yaml|talos/examples/v1.14-base-worker.yaml|$talos_stability/v1.14/base-worker.yaml|none|457943658eaaf427acf616c48f908118222eb28f58affa4f72cbf8a15cf5a6b0"
    "talos/api/machine/machine.proto|talos/api/machine/machine.proto|$talos_tag/api/machine/machine.proto|none|ed53d6815c79669fd18b0c638e53c464c19a328ef0cd413f112fc859d1b053ae"
    "talos/api/common/common.proto|talos/api/common/common.proto|$talos_tag/api/common/common.proto|none|8e336296ce95d1adbc7fa944cd916c81ece49e8651b3c731bf10704d37d17b17"
    "talos/api/storage/storage.proto|talos/api/storage/storage.proto|$talos_tag/api/storage/storage.proto|none|cd2790b91bb5563641352853d0f8ff81ad853daa981b254515e6f84bc593f404"
    "talos/api/vendor/google/rpc/status.proto|talos/api/vendor/google/rpc/status.proto|$talos_tag/api/vendor/google/rpc/status.proto|none|0d776a6a41b06067f3feeec0d6523cf7ba3aafd30966060fd2f3c1f28847eef9"
    "hetzner/cloud.spec.json|hetzner/cloud.spec.json|$hetzner/spec/cloud.spec.json|none|55d9d6d36d6fccfcba4dd80d0a345f8d9f3655c12ca09540d582c9b055b35457"
    "proxmox/apidata.json|proxmox/apidata.js|$proxmox/api-viewer/apidata.js|proxmox-apidata|a84cb189b9aa22cc2ba0cc221f1c9244cbaaf7b64a981916ece4390aaf54772b"
    "flux/crds/source.toolkit.fluxcd.io_gitrepositories.yaml|flux/crds/source.toolkit.fluxcd.io_gitrepositories.yaml|$source_controller/config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml|none|39a5a46c81539c992abc53f9be3e5434cd70d50a10d169b1e8a450e0df1c9d09"
    "flux/crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml|flux/crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml|$kustomize_controller/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml|none|da23ca0e6b4c80d3d26a91583137491e147ef4ef1e2208aece0d0af4ef851974"
    "flux/bootstrap-layout/clusters/home/flux-system/gotk-sync.yaml|flux/bootstrap-layout/clusters/home/flux-system/gotk-sync.yaml|$flux_sync/clusters/home/flux-system/gotk-sync.yaml|none|2082282f0cc7d6b750e8cf676505e67d97cb97534001744651835c0f98b91c90"
    "flux/bootstrap-layout/clusters/home/flux-system/kustomization.yaml|flux/bootstrap-layout/clusters/home/flux-system/kustomization.yaml|$flux_sync/clusters/home/flux-system/kustomization.yaml|none|08c9fc30784e4bc3995a5eaf1dfb85b42d3b500be8388f1b3348d321216f5283"
    "flux/bootstrap-layout/clusters/home/flux-system/gotk-components.yaml|flux/bootstrap-layout/clusters/home/flux-system/gotk-components.yaml|$flux_components/clusters/home/flux-system/gotk-components.yaml|none|97da4654bc11de5637d7f506b0a73707e1e6a1f7a8e9fa8e307063c0b9befa1f"
)

if [ "$list" = yes ]; then
    for entry in "${manifest[@]}"; do
        IFS='|' read -r target _ url conversion sum <<<"$entry"
        printf '%s\t%s\t%s\t%s\n' "$target" "$url" "$conversion" "$sum"
    done
    exit 0
fi

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# Proxmox publishes its API description as JavaScript (`const apiSchema = [...]\n;`); the stored
# file is that array as JSON with sorted keys and one-space indentation (proxmox/SOURCE.md), which
# is what Python's json.dumps(indent=1, sort_keys=True) writes.
convert_proxmox_apidata() {
    python3 - "$1" "$2" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
match = re.fullmatch(r"\s*(?:const|var|let)\s+apiSchema\s*=\s*(\[.*\])\s*;?\s*", text, re.S)
if match is None:
    sys.exit("apidata.js: expected `const apiSchema = [...];`")
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write(json.dumps(json.loads(match.group(1)), indent=1, sort_keys=True))
PY
}

fetch() { # origin (URL, or a file under --from), output file
    if [ -n "$from" ]; then
        cp "$1" "$2"
    else
        curl --fail --silent --show-error --location --retry 3 --proto '=https' --output "$2" "$1"
    fi
}

mkdir -p "$dest"
failed=0
fetched=0
kept=0
for entry in "${manifest[@]}"; do
    IFS='|' read -r target source_name url conversion sum <<<"$entry"
    out="$dest/$target"
    if [ -f "$out" ] && [ "$(sha256 "$out")" = "$sum" ]; then
        echo "ok       $target (already there, sha256 verified)"
        kept=$((kept + 1))
        continue
    fi
    mkdir -p "$(dirname "$out")"
    raw="$(mktemp "$out.download.XXXXXX")"
    staged="$(mktemp "$out.staged.XXXXXX")"
    origin="$url"
    [ -n "$from" ] && origin="$from/$source_name"
    if ! fetch "$origin" "$raw" 2>/dev/null; then
        echo "FAILED   $target: could not read $origin" >&2
        rm -f "$raw" "$staged"
        failed=$((failed + 1))
        continue
    fi
    case "$conversion" in
        none) mv -f "$raw" "$staged" ;;
        proxmox-apidata)
            if ! convert_proxmox_apidata "$raw" "$staged"; then
                echo "FAILED   $target: conversion of $origin failed" >&2
                rm -f "$raw" "$staged"
                failed=$((failed + 1))
                continue
            fi
            rm -f "$raw" ;;
        *) echo "FAILED   $target: unknown conversion $conversion" >&2; rm -f "$raw" "$staged"; failed=$((failed + 1)); continue ;;
    esac
    actual="$(sha256 "$staged")"
    if [ "$actual" != "$sum" ]; then
        echo "FAILED   $target: sha256 $actual, expected $sum (from $origin); nothing written" >&2
        rm -f "$staged"
        failed=$((failed + 1))
        continue
    fi
    chmod 0644 "$staged"
    mv -f "$staged" "$out"
    note=""
    [ "$conversion" != none ] && note=" (converted: $conversion)"
    echo "fetched  $target  <- $origin$note  sha256 ok"
    fetched=$((fetched + 1))
done

echo "reference data in $dest: $fetched fetched, $kept already there, $failed failed (of ${#manifest[@]})"
[ "$failed" -eq 0 ]
