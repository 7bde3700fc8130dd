"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

- before_load_schema: with SLUICE_FUZZ_PREFIX=/internal/v1, moves every `/v1/...` path of
  the document to `/internal/v1/...` and drops the unversioned ones (`/healthz`,
  `/metrics`, `/openapi.json`), so the same document fuzzes the `/internal/v1` mirror.
- before_call: keeps the node's outbound connections on this machine. `POST
  /v1/node/peers` and `POST /v1/node/channels` take a peer `address` (`host:port`, host
  names allowed) that the node resolves and dials once the `node_id` is a valid key. Any
  host that is not an IP literal on loopback (or, inside the script's private network
  namespace, any IP literal) is replaced by 127.0.0.1, the fuzzed port kept. Host names are
  always replaced, even in the namespace: resolving one could reach a name server
  outside it.
- before_call, too: realistic values. Random strings almost never make a valid node id, invoice
  or payment hash, so most requests would stop at validation. With SLUICE_FUZZ_NODE_ID,
  SLUICE_FUZZ_INVOICES and SLUICE_FUZZ_PAYMENT_HASHES set (the script does), half the
  requests (chosen by a generator seeded with SLUICE_FUZZ_SEED) get such fields replaced by
  real ones: the node's own id or another valid key, invoices the node itself made, the
  liquidity bodies' `schema` constant, payment hashes the node knows. Schemathesis
  re-checks a case after this hook, so its negative-data check judges what was sent. Not
  in the stateful phase's paths and queries, which hold values from earlier answers. A
  peer-connect request keeps its random node id, and an open-channel request that gets a
  valid one loses its address: with a valid id the node dials the (loopback) address, and
  with no peer there it answers 502 `peer_unreachable`, the documented answer for a peer
  that cannot be reached (see the script's header).
- after_call: appends one JSON line per request and response to SLUICE_FUZZ_LOG (method,
  path, status, which token, and for a 5xx the request body and the answer), which the
  script's summary counts.
"""

import ipaddress
import json
import os
import random

import schemathesis

PREFIX = os.environ.get("SLUICE_FUZZ_PREFIX", "/v1")
IN_NETNS = os.environ.get("SLUICE_FUZZ_NETNS") == "1"
LOG = os.environ.get("SLUICE_FUZZ_LOG")
TOKEN_NAME = os.environ.get("SLUICE_FUZZ_TOKEN_NAME", "?")
TOKEN = os.environ.get("SLUICE_FUZZ_TOKEN", "")
ADDRESS_FIELDS = ("address",)

# The x coordinate of secp256k1's generator, compressed: a valid key that is not a peer.
OTHER_NODE = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
OWN_NODE = os.environ.get("SLUICE_FUZZ_NODE_ID", "")
NODE_IDS = [key for key in (OWN_NODE, OTHER_NODE) if key]
INVOICES = [i for i in os.environ.get("SLUICE_FUZZ_INVOICES", "").split(",") if i]
HASHES = [h for h in os.environ.get("SLUICE_FUZZ_PAYMENT_HASHES", "").split(",") if h]
SCHEMAS = {
    "quote_pay": "openagents.liquidity.quote_pay_request.v1",
    "pay": "openagents.liquidity.pay_request.v1",
}
REALISTIC = bool(OWN_NODE)
RNG = random.Random(os.environ.get("SLUICE_FUZZ_SEED", "0"))


@schemathesis.hook
def before_load_schema(context, raw_schema):
    if PREFIX == "/v1":
        return
    paths = raw_schema.get("paths", {})
    raw_schema["paths"] = {
        PREFIX + path[len("/v1"):]: item
        for path, item in paths.items()
        if path.startswith("/v1/")
    }


def _loopback_only(address):
    """`address` if dialling it stays on this machine, else the same port on 127.0.0.1."""
    if not isinstance(address, str) or ":" not in address:
        return address  # no port: the node rejects it before resolving anything
    host, port = address.rsplit(":", 1)
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        ip = None
    if ip is not None and (ip.is_loopback or IN_NETNS):
        return address
    return "127.0.0.1:" + port


def _phase(case):
    meta = getattr(case, "_meta", None)
    phase = getattr(getattr(meta, "phase", None), "name", None)
    return getattr(phase, "value", phase)


def _realistic(case):
    """Replaces some fields of `case` by values the node accepts (see the module doc)."""
    if not REALISTIC or RNG.random() < 0.5:
        return
    operation = f"{case.method.upper()} {case.path}"
    if operation.endswith(" /node/peers") and case.method.upper() == "POST":
        return  # a valid node id makes the node dial: see the module doc
    body = case.body
    if isinstance(body, dict):
        for field in ("node_id", "counterparty_node_id"):
            if field in body:
                body[field] = RNG.choice(NODE_IDS)
        if "node_id" in body and "address" in body:
            body["address"] = None  # no dialling here either, just the open itself
        if "invoice" in body and INVOICES:
            body["invoice"] = RNG.choice(INVOICES)
        if "schema" in body:
            body["schema"] = SCHEMAS["quote_pay" if "quote_pay" in case.path else "pay"]
    if _phase(case) == "stateful":
        return  # there path and query values come from earlier answers: keep them
    params = case.path_parameters
    if isinstance(params, dict):
        if "node_id" in params:
            params["node_id"] = RNG.choice(NODE_IDS)
        for field in ("payment_id", "channel_id"):
            if field in params and HASHES:
                params[field] = RNG.choice(HASHES)
    query = case.query
    if isinstance(query, dict) and "payment_hash" in query and HASHES:
        query["payment_hash"] = RNG.choice(HASHES)


@schemathesis.hook
def before_call(context, case, kwargs):
    _realistic(case)
    body = case.body
    if isinstance(body, dict):
        for field in ADDRESS_FIELDS:
            if field in body:
                body[field] = _loopback_only(body[field])
    elif isinstance(body, list):
        # The node also takes a struct as a JSON array of its fields in order (a finding of
        # this fuzz), so an array's strings may be addresses too.
        body[:] = [_loopback_only(item) for item in body]


def _text(data, limit=2000):
    if data is None:
        return None
    if isinstance(data, bytes):
        data = data.decode("utf-8", "backslashreplace")
    return data if len(data) <= limit else data[:limit] + "...(cut)"


def _token_used(request):
    auth = request.headers.get("Authorization")
    if auth is None:
        return "none"
    if TOKEN and auth == "Bearer " + TOKEN:
        return TOKEN_NAME
    return "other"  # a header schemathesis altered (ignored_auth and the like)


@schemathesis.hook
def after_call(context, case, response):
    if not LOG:
        return
    request = response.request
    path = request.path_url
    entry = {
        "operation": f"{case.method.upper()} {case.path}",
        "method": request.method,
        "path": path,
        "status": response.status_code,
        "token": _token_used(request),
    }
    if response.status_code >= 500:
        entry["request_headers"] = {
            k: ("<token>" if k.lower() == "authorization" else v)
            for k, v in request.headers.items()
        }
        entry["request_body"] = _text(request.body)
        entry["response_body"] = _text(response.content)
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")
