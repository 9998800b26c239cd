"""Property: whatever node a request lands on, a cart behaves like one cart.

A hypothesis state machine adds items to a guest cart through randomly chosen nodes of both colours and checks,
through another random node, that the cart and its totals match a plain Python model. This is the invariant a
blue-green switch relies on: state lives in the shared DB/Redis, never on a node."""
import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

pytestmark = pytest.mark.replica

SKUS = [f"GL-{i:04d}" for i in range(1, 31)]
PRICES = {f"GL-{i:04d}": 10 + i for i in range(1, 31)}


def test_cart_is_the_same_on_every_node(gl_target):
    urls = [n.url for c in ("blue", "green") for n in gl_target.nodes(c)]

    class CartMachine(RuleBasedStateMachine):
        @initialize(node=st.sampled_from(urls))
        def new_cart(self, node):
            self.client = httpx.Client(timeout=10)
            r = self.client.post(f"{node}/rest/V1/guest-carts")
            assert r.status_code == 200, r.text
            self.cart = r.json()
            self.model: dict[str, float] = {}

        @rule(node=st.sampled_from(urls), sku=st.sampled_from(SKUS), qty=st.integers(1, 3))
        def add(self, node, sku, qty):
            r = self.client.post(f"{node}/rest/V1/guest-carts/{self.cart}/items",
                                 json={"cartItem": {"sku": sku, "qty": qty, "quote_id": self.cart}})
            assert r.status_code == 200, r.text
            self.model[sku] = self.model.get(sku, 0) + qty

        @rule(node=st.sampled_from(urls), qty=st.integers(-2, 0))
        def bad_qty_is_refused(self, node, qty):
            r = self.client.post(f"{node}/rest/V1/guest-carts/{self.cart}/items",
                                 json={"cartItem": {"sku": SKUS[0], "qty": qty, "quote_id": self.cart}})
            assert r.status_code == 400, (r.status_code, r.text)

        @invariant()
        def cart_matches_model_everywhere(self):
            if not hasattr(self, "cart"):
                return
            node = urls[len(self.model) % len(urls)]
            cart = self.client.get(f"{node}/rest/V1/guest-carts/{self.cart}").json()
            assert {i["sku"]: i["qty"] for i in cart["items"]} == self.model
            totals = self.client.get(f"{node}/rest/V1/guest-carts/{self.cart}/totals").json()
            assert totals["subtotal"] == pytest.approx(sum(PRICES[s] * q for s, q in self.model.items()))

        def teardown(self):
            if hasattr(self, "client"):
                self.client.close()

    run_state_machine_as_test(CartMachine, settings=settings(
        max_examples=8, stateful_step_count=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
