"""The journeys' content checks (locustfiles/gl_checks.py): each one fails on the answer it exists to catch."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "locustfiles"))
import gl_checks as check
from gl_checks import CheckFailed


def names(failures: list[dict]) -> set[str]:
    return {f["check"] for f in failures}


def test_a_clean_answer_passes_the_generic_checks():
    assert check.generic(200, "application/json", '{"grand_total": 1}', {"grand_total": 1}, None) == []
    assert check.generic(200, "text/html", "<title>Home</title>", None, None) == []


@pytest.mark.parametrize("body", [
    {"message": "No such entity with %fieldName = %fieldValue", "parameters": {"fieldName": "cartId"}},
    {"message": "Internal Error. Details are available in Magento log file. Report ID: webapi-6542"},
    {"message": "The consumer isn't authorized to access %resources."},
])
def test_a_200_carrying_a_magento_error_fails(body):
    failures = check.generic(200, "application/json", json.dumps(body), body, None)
    assert names(failures) == {"error_payload"}
    assert body["message"][:20] in failures[0]["reason"]


def test_a_result_that_merely_has_a_message_field_is_not_an_error():
    body = {"message": "hello", "grand_total": 10, "items": []}
    assert check.generic(200, "application/json", "", body, None) == []


@pytest.mark.parametrize("status", [400, 401, 404, 409, 429, 500, 503])
def test_any_4xx_or_5xx_fails_with_the_magento_message(status):
    body = {"message": "The requested qty is not available"}
    failures = check.generic(status, "application/json", "", body, None)
    assert names(failures) == {"status"}
    assert str(status) in failures[0]["reason"] and "qty" in failures[0]["reason"]


@pytest.mark.parametrize("phrase", ["There has been an error processing your request",
                                    "Invalid Form Key. Please refresh the page.", "Your session has expired"])
def test_an_error_page_fails_whatever_its_status(phrase):
    page = f"<html><title>Store</title><h1>{phrase}</h1></html>"
    assert names(check.generic(200, "text/html; charset=UTF-8", page, None, None)) == {"error_page"}


def test_an_error_in_the_messages_cookie_fails_and_a_success_message_does_not():
    cookie = quote(json.dumps([{"type": "success", "text": "You added X"}, {"type": "error", "text": "Out of stock"}]))
    failures = check.generic(200, "text/html", "<title>Shopping Cart</title>", None, cookie)
    assert names(failures) == {"error_message"} and "Out of stock" in failures[0]["reason"]
    ok = quote(json.dumps([{"type": "success", "text": "You added X"}]))
    assert check.generic(200, "text/html", "", None, ok) == []
    # Encoded twice (a proxy, an extension re-encoding PHP's setcookie value): the error is still read.
    assert check.error_messages(quote(cookie)) == ["Out of stock"]
    assert check.error_messages("not%20json") == [] and check.error_messages('{"type": "error"}') == []


def test_cart_lines_must_match_exactly():
    check.same_lines("cart_contents", {"GL-0001": 2.0}, {"GL-0001": 2.0})
    with pytest.raises(CheckFailed, match="missing"):
        check.same_lines("cart_contents", {"GL-0001": 2.0, "GL-0002": 1.0}, {"GL-0001": 2.0})
    with pytest.raises(CheckFailed, match="unexpected"):
        check.same_lines("cart_contents", {"GL-0001": 1.0}, {"GL-0001": 2.0})


def make_totals(lines: list[tuple[float, int]], shipping: float = 0.0) -> dict:
    items = [{"price": p, "qty": q, "row_total": round(p * q, 2)} for p, q in lines]
    sub = round(sum(i["row_total"] for i in items), 2)
    return {"subtotal": sub, "shipping_amount": shipping, "grand_total": round(sub + shipping, 2),
            "items_qty": sum(q for _p, q in lines), "items": items}


prices = st.decimals(min_value="0.01", max_value="999.99", places=2).map(float)
lines = st.lists(st.tuples(prices, st.integers(1, 5)), min_size=1, max_size=6)


@given(lines, st.integers(0, 30).map(float))
def test_totals_that_add_up_pass(ls, shipping):
    t = make_totals(ls, shipping)
    check.totals(t, {f"s{i}": q for i, (_p, q) in enumerate(ls)}, shipping_expected=shipping > 0)


@given(lines, st.decimals(min_value="0.05", max_value="50", places=2).map(float))
def test_a_grand_total_off_by_any_amount_fails(ls, delta):
    t = make_totals(ls, 5.0)
    t["grand_total"] = round(t["grand_total"] - delta, 2)
    with pytest.raises(CheckFailed) as err:
        check.totals(t)
    assert err.value.check == "totals_sum"


def test_totals_missing_an_item_the_customer_added_fail():
    t = make_totals([(11.0, 1)])
    with pytest.raises(CheckFailed) as err:
        check.totals(t, {"GL-0001": 1.0, "GL-0002": 2.0})
    assert err.value.check == "totals_items"


def test_totals_without_shipping_after_choosing_a_method_fail():
    with pytest.raises(CheckFailed) as err:
        check.totals(make_totals([(11.0, 1)]), shipping_expected=True)
    assert err.value.check == "totals_shipping"


def test_a_row_total_that_is_not_price_times_qty_fails():
    t = make_totals([(11.0, 2)])
    t["items"][0]["row_total"] = 11.0
    t["subtotal"] = t["grand_total"] = 11.0
    with pytest.raises(CheckFailed) as err:
        check.totals(t)
    assert err.value.check == "totals_rows"


@pytest.mark.parametrize("body", ["abc", "", None, True, {"id": 3}, "12a"])
def test_an_order_id_must_be_numeric(body):
    with pytest.raises(CheckFailed):
        check.order_id(body)


def test_order_ids_as_number_or_digits_pass():
    assert check.order_id(42) == check.order_id("42") == 42


def test_the_token_must_answer_for_this_customer():
    assert check.customer_is({"email": "a@x"}, "a@x")
    with pytest.raises(CheckFailed) as err:
        check.customer_is({"email": "b@x"}, "a@x")
    assert err.value.check == "same_customer"


def test_a_session_showing_nobody_or_someone_else_is_lost():
    who, cart = check.sections({"customer": {"fullname": "A B"}, "cart": {"items": [
        {"product_sku": "GL-0001", "qty": 1}, {"product_sku": "GL-0001", "qty": 1}]}})
    assert who == "A B" and cart == {"GL-0001": 2.0}
    check.session_kept("A B", "A B")
    for other in (None, "C D"):
        with pytest.raises(CheckFailed) as err:
            check.session_kept(other, "A B")
        assert err.value.check == "session_kept"
    assert check.sections({"customer": [], "cart": {}}) == (None, {})  # Magento's empty section is a list


def test_landing_pages_and_pages_content():
    check.page_is("<title>Shopping Cart</title>", "Shopping Cart")
    with pytest.raises(CheckFailed) as err:
        check.page_is("<title>Product</title>", "Shopping Cart")
    assert err.value.check == "landed_on" and "Product" in err.value.reason
    # The cart page, checkout and success markup: tests/test_magento_markup.py (held to Magento's templates).


def test_added_item_and_shipping_offer():
    check.added_item({"sku": "GL-0001", "qty": 1}, "GL-0001", 1)
    with pytest.raises(CheckFailed):
        check.added_item({"sku": "GL-0002"}, "GL-0001", 1)
    assert check.shipping_methods([{"carrier_code": "c", "method_code": "m", "available": True}]) == ("c", "m")
    with pytest.raises(CheckFailed) as err:
        check.shipping_methods([{"carrier_code": "c", "method_code": "m", "available": False}])
    assert err.value.check == "shipping_offered"
