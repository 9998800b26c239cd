"""Every known-bad release must be stopped, for the right reason, and leave the good colour live.

Each case runs a real certification on the replica (load, deploy, gate, switch, watch) with that release."""
import pytest

from harness.config.bounds import Bounds
from harness.run.certify import certify
from harness.run.cutover import live_release

pytestmark = [pytest.mark.replica, pytest.mark.badrelease]

# release id -> (verdict that must fail, fragment its detail must contain)
CASES = {
    "bad-place-order-500": ("zero_5xx", "payment-information"),
    "bad-file-sessions": ("gate", "do not share session storage"),
    "bad-drop-column": ("gate", "old code / new schema"),
    "bad-healthz-lies": ("gate", "add_item"),
    "bad-static-version": ("gate", "static version 1700000001"),
    "bad-static-missing": ("gate", "static_asset failed: HTTP 404"),
    "bad-config-change": ("gate", "The configuration file has changed"),
    "bad-new-crypt-key": ("gate", "different crypt keys"),
    "bad-session-handler": ("gate", "do not share session storage"),
    "bad-cron-install": ("gate", "already run(s) Magento's cron"),
    "bad-fpc-private-data": ("gate", "another customer's name"),
    "bad-flush-sessions": ("sessions_intact", "lost"),
    "bad-slow-warmup": ("gate", "bound 2000 ms"),
    "bad-module-bump": ("gate", "Please update your modules"),
    "bad-shared-cache-prefix": ("gate", "share page-cache entries"),
    "bad-session-lock-ajax": ("gate", "at once on one session failed: HTTP 503"),
    # Downgrade-unsafe: sessions the new release writes cannot be read by the old one (a rollback would log every
    # customer out): the gate carries a session both ways, new colour to old included, before the switch.
    "bad-session-codec-downgrade": ("gate", "is not logged in on"),
}
# A release that is bad only next to a given live release: its env.php pins the cache id_prefix of r1's install.
NEEDS_LIVE = {"bad-shared-cache-prefix": "r1"}
# Releases that fail the way customers see it, not with a 5xx: only the journey, credential, order and latency
# verdicts catch them (the status verdicts and the smoke gate pass them). The first two run in `make test`; the
# rest with `make test-corpus` (each is a full certification).
NEW_CASES = {
    # Not salable at adding to cart: by REST (add item) or on the storefront (add to cart), whichever a shopper hits first.
    "bad-qty-not-salable": ("journey_steps", "add "),
    "bad-order-total": ("orders_reconciled", "other content than the customer was told"),
    "bad-guest-cart-drops-lines": ("sessions_intact", "broken history"),
    "bad-product-page-error": ("journey_steps", "product page"),
    "bad-slow-shipping-estimate": ("latency_by_step", "estimate shipping"),
    "bad-migration-lock": ("live_colour_unharmed", "took over"),
    # A scheduled job of the new release destroys customer state once cron has moved to it: caught by the
    # verdicts judged at the end of the watch, and rolled back before the run ends.
    "bad-cron-deletes-carts": ("sessions_intact", "cart"),
    # Background work that stops: the new colour's consumers never consume (checkout, cron, health all fine).
    "bad-consumer-crashes": ("background_jobs_one_colour", "do not drain the queue"),
    # A guest's storefront cart lives in the session under a key the new release no longer reads.
    "bad-guest-session-cart-key": ("sessions_intact", "guest session"),
}
# A fault only a longer window after the hand-over shows (a queue that stops draining): more load after the switch.
LOAD_SECONDS = {"bad-consumer-crashes": 45}
# bad-cron-deletes-carts runs with `make test-corpus` and in bench/rollback_speed.py (make test stays under 30 min).
SHORT_PROFILE = ("bad-qty-not-salable", "bad-order-total", "bad-consumer-crashes", "bad-guest-session-cart-key")
CASES.update(NEW_CASES)


def _put_live(target, options, release_id):
    """Cut over to `release_id` first when another release is live (a good cutover, itself certified)."""
    if release_id and live_release(target) != release_id:
        # A set-up cutover of 15 s carries about 20 crossings of each kind (a run showed 19 tokens): the minimum is
        # lowered explicitly, as for the trust runs, so set-up is judged on what it can show.
        cert = certify(target, release=release_id, users=6, load_seconds=15, watch_s=3, bounds=Bounds(min_crossings=3),
                       report_dir=options["report_dir"] / "bad" / f"to-{release_id}")
        assert cert.passed and live_release(target) == release_id, cert.verdicts


def _case(release_id):
    marks = [pytest.mark.fullcorpus] if release_id in NEW_CASES and release_id not in SHORT_PROFILE else []
    return pytest.param(release_id, marks=marks, id=release_id)


@pytest.mark.parametrize("release_id", [_case(r) for r in sorted(CASES)])
def test_known_bad_release_is_stopped(gl_target, gl_options, release_id):
    verdict, fragment = CASES[release_id]
    _put_live(gl_target, gl_options, NEEDS_LIVE.get(release_id))
    live_before = gl_target.live_colour()
    release_before = live_release(gl_target)
    cert = certify(gl_target, release=release_id, users=10, load_seconds=LOAD_SECONDS.get(release_id, 25), watch_s=8,
                   report_dir=gl_options["report_dir"] / "bad" / release_id)
    assert not cert.passed, f"{release_id} was certified: {cert.verdicts}"
    v = cert.verdict(verdict)
    assert not v["passed"], f"{release_id}: {verdict} passed; failing: " + \
        str({k: x["detail"] for k, x in cert.verdicts.items() if not x["passed"]})
    assert fragment in v["detail"] + " ".join(map(str, v.get("evidence", []))), v
    # Whatever happened, the good colour serves again and is healthy.
    assert gl_target.live_colour() == live_before
    assert live_release(gl_target) == release_before
    if release_id in NEEDS_LIVE:
        # Its gated pages landed in the live colour's cache (shared ids): cleaned out from the live side.
        cleaned = [x for x in cert.report.get("events", []) if x.get("event") == "page_cache_cleaned"]
        assert [(x["colour"], x["ok"]) for x in cleaned] == [(live_before, True)], cleaned
    if release_id == "bad-session-codec-downgrade":
        # Only the downgrade direction fails: a session the new colour wrote is unreadable on the old one.
        rows = [c for c in cert.report["gate"] if c["check"] == "session_portable" and not c["ok"]]
        assert rows and all(c["node"].startswith(cert.outcome.to_colour) for c in rows), rows
    if verdict == "gate":
        # Refused before the switch: no customer saw an error.
        assert cert.verdict("zero_5xx")["passed"], cert.verdict("zero_5xx")
        assert not cert.outcome.switched
    if release_id in NEW_CASES:
        # Only the new checks caught it: no 5xx, no dropped connection, and the smoke gate let it through.
        assert cert.verdict("zero_5xx")["passed"] and cert.verdict("zero_transport_errors")["passed"]
        assert all(c["ok"] for c in cert.report["gate"]), cert.report["gate"]
        if cert.outcome.switched:  # caught live: the watch rolled it back, not the report afterwards
            assert cert.outcome.rolled_back and cert.outcome.rolled_back != "rollback drill", cert.outcome
