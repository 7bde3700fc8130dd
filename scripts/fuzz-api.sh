#!/usr/bin/env bash
# Schema-driven fuzz of the running API: schemathesis, driven by the node's own
# `GET /openapi.json`, against a real `sluice run --embedded-chain` on 127.0.0.1, once per
# token kind (admin, pay, read, lp) and once more per token on the `/internal/v1` mirror.
# It fails on any 5xx, any answer that breaks the document (see CHECKS below), any panic
# in the node's log, and the node dying. The hooks (scripts/fuzz_api_hooks.py) mix real
# values (the node's id, its own invoices and payment hashes) into half the requests, so
# the fuzz gets past field validation into the payment, channel and peer code.
#
# Opt-in: `.ci/run` does not call it. Run it from the repository root:
#
#   bash scripts/fuzz-api.sh
#
# On 2 cores it takes 2 to 3 minutes with the defaults (8 runs of about 2,000 to 2,700
# test cases each, ~20,000 requests in all), plus, the first time, about 20 s for the
# Python environment and whatever `cargo build` has left to do. It exits 0 only when
# every run passed. It needs python3 with the venv module (Debian: python3-venv), pip
# access to PyPI, and cargo; Linux for the network namespace (see Network below).
#
# Settings (environment):
#   FUZZ_EXAMPLES=100         test cases per operation and phase (schemathesis --max-examples)
#   FUZZ_TOKENS="admin pay read lp"   which tokens to fuzz with
#   FUZZ_PREFIXES="/v1 /internal/v1"  which mirrors to fuzz
#   FUZZ_PHASES=examples,coverage,fuzzing,stateful
#   FUZZ_SEED=<n>             replay a run (each run prints its seed)
#   FUZZ_CHECKS=all, FUZZ_EXCLUDE_CHECKS=positive_data_acceptance   (see CHECKS below)
#   FUZZ_RUN_TIMEOUT=900      seconds one schemathesis run may take before it is stopped
#   FUZZ_OUT=target/fuzz-api  where the reports and the node's log go
#   SLUICE_BIN=<path>         a prebuilt `sluice` binary; without it the script runs
#                             `cargo build -p sluice-node --bin sluice` (a no-op when fresh)
#
# Where everything goes: the Python environment in target/fuzz-venv (pinned schemathesis,
# reused while the pin is unchanged), a scratch data directory from mktemp (removed on
# exit), reports in $FUZZ_OUT: one folder per run with schemathesis' JUnit and NDJSON
# reports, requests-<run>.jsonl (every request's status; the request and answer of each
# 5xx), node.log (the node's stderr) and summary.txt.
#
# Network: the node and schemathesis run in a private network namespace with only a
# loopback interface when `unshare` allows it (root, or unprivileged user namespaces), so
# nothing the fuzz makes the node dial can leave the machine; the hooks in
# scripts/fuzz_api_hooks.py also rewrite every peer address in a request body to
# 127.0.0.1 unless it is a loopback IP (any IP literal inside the namespace). Both
# listeners are 127.0.0.1 on ports the kernel picks.
#
# Not fuzzed, on purpose: a peer connection to a valid node id. There is no peer to reach,
# so the node answers 502 `peer_unreachable` (documented) after a refused connection or a
# 10 s handshake timeout; the hooks keep such requests at validation instead.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd -P)

SCHEMATHESIS_VERSION=4.32.5

# Checks: all of schemathesis' response checks (not_a_server_error fails on any 5xx, the
# documented 500/502/503/504 included; status code, content type, headers and body must
# match the document; invalid data must get a 4xx; auth must not be ignored; ...) but one:
# - positive_data_acceptance expects a 2xx for any value the document allows, but the
#   document types node ids, hashes, invoices and amounts as bare strings and integers
#   (no length, hex pattern or range), so `{"node_id": ""}` is "valid" there and rightly
#   a 400 here: thousands of reports a run, none a bug. It becomes useful once the
#   document carries the validators' constraints (`pattern`, `minimum`, `maximum`).
CHECKS=${FUZZ_CHECKS:-all}
EXCLUDE_CHECKS=${FUZZ_EXCLUDE_CHECKS:-positive_data_acceptance}

examples=${FUZZ_EXAMPLES:-100}
tokens_wanted=${FUZZ_TOKENS:-admin pay read lp}
prefixes=${FUZZ_PREFIXES:-/v1 /internal/v1}
phases=${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}
run_timeout=${FUZZ_RUN_TIMEOUT:-900}
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=$target_dir/fuzz-venv
out=${FUZZ_OUT:-$target_dir/fuzz-api}

say() { echo "fuzz-api: $*" >&2; }

# ---------------------------------------------------------------------------------------
# Outside the namespace: the Python environment and the binary (both need the network or
# the build), then the rest again inside a private network namespace.
if [[ "${1:-}" != "--inside" ]]; then
    stamp=$venv/.schemathesis-$SCHEMATHESIS_VERSION
    if [[ ! -f "$stamp" ]]; then
        say "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "schemathesis==$SCHEMATHESIS_VERSION"
        touch "$stamp"
    fi
    if [[ -z "${SLUICE_BIN:-}" ]]; then
        say "building sluice (cargo build -p sluice-node --bin sluice)"
        cargo build --quiet -p sluice-node --bin sluice
        SLUICE_BIN=$target_dir/debug/sluice
    fi
    [[ -x "$SLUICE_BIN" ]] || { say "no executable at SLUICE_BIN=$SLUICE_BIN"; exit 1; }
    export SLUICE_BIN

    if command -v unshare >/dev/null && command -v ip >/dev/null; then
        for userns in "" --map-root-user; do
            # shellcheck disable=SC2086 # $userns is one flag or none
            if unshare $userns --net ip link set lo up 2>/dev/null; then
                export SLUICE_FUZZ_NETNS=1
                # shellcheck disable=SC2086
                exec unshare $userns --net bash "$root/scripts/fuzz-api.sh" --inside
            fi
        done
    fi
    say "WARNING: no private network namespace (unshare failed); the hooks alone keep peer"
    say "addresses on 127.0.0.1"
    export SLUICE_FUZZ_NETNS=0
    exec bash "$root/scripts/fuzz-api.sh" --inside
fi

# ---------------------------------------------------------------------------------------
# Inside: the node, the runs, the summary.
if [[ "${SLUICE_FUZZ_NETNS:-0}" == 1 ]]; then
    ip link set lo up
fi

py=$venv/bin/python
started=$(date +%s)
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
# Only what an earlier run of this script left there.
rm -rf "$out"/{admin,pay,read,lp}-* "$out"/requests-*.jsonl "$out"/node.log "$out"/summary.txt
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
node_pid=

cleanup() {
    local status=$?
    if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
        kill -TERM "$node_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$node_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$node_pid" 2>/dev/null || true
        wait "$node_pid" 2>/dev/null || true
    fi
    [[ -f "$scratch/node.err" ]] && cp "$scratch/node.err" "$out/node.log"
    rm -rf "$scratch"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Four tokens, one per scope, random for this run; the node gets their SHA-256.
declare -A token
hash_args=()
for scope in admin pay read lp; do
    token[$scope]=fuzz-$scope-$("$py" -c 'import secrets; print(secrets.token_hex(16))')
    digest=$("$py" -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())' "${token[$scope]}")
    hash_args+=(--api-token-sha256 "$digest:$scope")
done

# An [lsps2] section, so the LSPS2 endpoints answer from a configured service.
cat >"$scratch/sluice.toml" <<'EOF'
[lsps2]
client_trusts_lsp = false

[[lsps2.fee_menu]]
min_fee_msat = 20000
proportional_ppm = 10000
min_payment_size_msat = 10000000
max_payment_size_msat = 1000000000
EOF

say "starting $SLUICE_BIN run --embedded-chain (data in $scratch/data)"
"$SLUICE_BIN" run --config "$scratch/sluice.toml" --data-dir "$scratch/data" \
    --network regtest --embedded-chain \
    --listen 127.0.0.1:0 --api-addr 127.0.0.1:0 \
    "${hash_args[@]}" >"$scratch/node.out" 2>"$scratch/node.err" &
node_pid=$!

# The node prints `sluice: API at http://127.0.0.1:PORT, peers at ...` once it serves.
api=
for _ in $(seq 1 600); do
    api=$(grep -o 'API at http://127\.0\.0\.1:[0-9]*' "$scratch/node.out" 2>/dev/null | cut -d' ' -f3 || true)
    [[ -n "$api" ]] && break
    kill -0 "$node_pid" 2>/dev/null || { say "the node exited:"; tail -20 "$scratch/node.err" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$api" ]] || { say "the node did not print its API address in 60 s"; exit 1; }
"$py" - "$api" <<'EOF' || { say "/healthz never answered 200"; exit 1; }
import sys, time, urllib.request
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=5) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(1)
EOF
say "node up at $api (pid $node_pid)"

# Real values for the hooks to mix in: the node's id, invoices it made (one with an
# amount, one without, one that expires at once) and their payment hashes.
real_values=$("$py" - "$api" "${token[admin]}" <<'PY'
import json, shlex, sys, urllib.request
api, token = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    request = urllib.request.Request(api + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)
node_id = call("GET", "/v1/node/info")["node_id"]
invoices = [call("POST", "/v1/node/invoices", body) for body in (
    {"amount_msat": 50000, "description": "fuzz"}, {"description": "fuzz any amount"},
    {"amount_msat": 1000, "description": "fuzz expired", "expiry_secs": 1})]
print("export SLUICE_FUZZ_NODE_ID=" + shlex.quote(node_id))
print("export SLUICE_FUZZ_INVOICES=" + shlex.quote(",".join(i["bolt11"] for i in invoices)))
print("export SLUICE_FUZZ_PAYMENT_HASHES=" + shlex.quote(",".join(i["payment_hash"] for i in invoices)))
PY
)
eval "$real_values"

export SCHEMATHESIS_HOOKS=fuzz_api_hooks
export PYTHONPATH=$root/scripts${PYTHONPATH:+:$PYTHONPATH}
seed=${FUZZ_SEED:-$("$py" -c 'import random; print(random.randrange(1, 2**31))')}
export SLUICE_FUZZ_SEED=$seed

runs=()
failed_runs=()
for prefix in $prefixes; do
    for scope in $tokens_wanted; do
        [[ -n "${token[$scope]:-}" ]] || { say "unknown token kind $scope"; exit 2; }
        label=$scope${prefix//\//-}
        runs+=("$label")
        say "run $label: schemathesis on $api/openapi.json as $prefix with the $scope token (seed $seed)"
        command=(
            "$venv/bin/schemathesis" run "$api/openapi.json"
            --checks "$CHECKS"
            ${EXCLUDE_CHECKS:+--exclude-checks "$EXCLUDE_CHECKS"}
            --phases "$phases"
            --max-examples "$examples"
            --seed "$seed"
            --continue-on-failure
            --workers 1
            --request-timeout 30
            --generation-database none
            --header "Authorization: Bearer ${token[$scope]}"
            --report junit,ndjson
            --report-dir "$out/$label"
            --no-color
        )
        printf '%q ' "${command[@]}" | sed "s/${token[$scope]}/<$scope token>/" >"$out/$label.cmd"
        say "  $(cat "$out/$label.cmd")"
        status=0
        # From the run's own folder: schemathesis keeps a `.schemathesis` cache in its
        # working directory, which belongs with the run's reports, not in the repository.
        mkdir -p "$out/$label"
        (cd "$out/$label" &&
            SLUICE_FUZZ_PREFIX=$prefix \
                SLUICE_FUZZ_LOG=$out/requests-$label.jsonl \
                SLUICE_FUZZ_TOKEN=${token[$scope]} \
                SLUICE_FUZZ_TOKEN_NAME=$scope \
                timeout --kill-after=10 "$run_timeout" "${command[@]}") \
            >"$out/$label.txt" 2>&1 || status=$?
        tail -n 30 "$out/$label.txt" | sed "s/^/  [$label] /" >&2
        if ((status != 0)); then
            failed_runs+=("$label (exit $status)")
        fi
        if ! kill -0 "$node_pid" 2>/dev/null; then
            say "the node died during run $label"
            failed_runs+=("node died during $label")
            break 2
        fi
    done
done

panics=$(grep -c 'panicked' "$scratch/node.err" || true)
elapsed=$(($(date +%s) - started))
summary_status=0
"$py" - "$out" "$seed" "$elapsed" "$panics" "${runs[@]}" <<'EOF' >"$out/summary.txt" || summary_status=$?
import json, os, sys
from collections import Counter

out, seed, elapsed, panics, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
print(f"fuzz-api summary (seed {seed}, {elapsed} s, node panics: {panics})")
total_5xx = 0
print(f"{'run':<20} {'ops':>4} {'cases':>6} {'requests':>8} {'5xx':>4} {'failures':>8}  statuses")
for run in runs:
    ops, cases, failures = set(), 0, Counter()
    folder = os.path.join(out, run)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    for name in (n for n in names if n.endswith(".ndjson")):
        for line in open(os.path.join(folder, name), encoding="utf-8"):
            event = json.loads(line)
            body = event.get("ScenarioFinished")
            if not body:
                continue
            recorder = body.get("recorder") or {}
            if body.get("phase") != "stateful" and body.get("status") != "skip":
                ops.add(recorder.get("label"))
            cases += len(recorder.get("cases") or {})
            for checks in (recorder.get("checks") or {}).values():
                for check in checks:
                    if check.get("status") == "failure":
                        failures[check.get("name")] += 1
    statuses, fivexx = Counter(), 0
    requests = 0
    log = os.path.join(out, f"requests-{run}.jsonl")
    if os.path.exists(log):
        for line in open(log, encoding="utf-8"):
            entry = json.loads(line)
            requests += 1
            statuses[entry["status"]] += 1
            fivexx += entry["status"] >= 500
    status_text = " ".join(f"{s}:{n}" for s, n in sorted(statuses.items()))
    print(f"{run:<20} {len(ops):>4} {cases:>6} {requests:>8} {fivexx:>4} {sum(failures.values()):>8}  {status_text}")
    for name, n in failures.most_common():
        print(f"{'':<20}   {name}: {n}")
    total_5xx += fivexx
    # Each failure's headline from schemathesis' own output: operation, code, reproducer.
    text = os.path.join(out, f"{run}.txt")
    if failures and os.path.exists(text):
        block = open(text, encoding="utf-8", errors="replace").read()
        block = block.split(" FAILURES ", 1)[-1].split(" WARNINGS ", 1)[0].split(" SUMMARY ", 1)[0]
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(("___", "- ST", "curl ")):
                print(f"{'':<20}   {line.strip('_ ')[:300]}")
    shown = 0
    if os.path.exists(log):
        for line in open(log, encoding="utf-8"):
            entry = json.loads(line)
            if entry["status"] >= 500 and shown < 10:
                shown += 1
                print(f"{'':<20}   5xx: {entry['method']} {entry['path']} token={entry['token']} "
                      f"body={entry.get('request_body')!r} -> {entry['status']} {entry.get('response_body')!r}")
sys.exit(3 if total_5xx else 0)
EOF

cat "$out/summary.txt"
if ((summary_status == 3)); then
    failed_runs+=("5xx answers (see summary)")
elif ((summary_status != 0)); then
    failed_runs+=("the summary failed (exit $summary_status)")
fi
if ((panics > 0)); then
    say "the node panicked:"
    grep -m 5 -A 3 'panicked' "$scratch/node.err" >&2 || true
    failed_runs+=("node panicked $panics time(s)")
fi
if ((${#failed_runs[@]} > 0)); then
    say "FAILED: ${failed_runs[*]} (reports in $out)"
    exit 1
fi
say "passed: ${#runs[@]} runs, no 5xx, no failed check, no panic (reports in $out)"
