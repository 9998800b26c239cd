"""The requests a page's scripts fire on load, read from its x-magento-init config (harness/checks/page_scripts.py)."""
import json

from harness.checks.page_scripts import on_load_requests


def _page(cfg: dict) -> str:
    return ('<html><head><script type="text/x-magento-init">' + json.dumps({"*": cfg})
            + "</script></head><body></body></html>")


def test_customer_data_default_is_one_request_for_cart_and_customer():
    html = _page({"Magento_Customer/js/customer-data": {"sectionLoadUrl": "https://shop.test/customer/section/load/"}})
    assert on_load_requests(html) == ["/customer/section/load/?sections=cart,customer"]


def test_a_theme_that_reloads_each_section_fires_one_request_per_section():
    html = _page({"Magento_Customer/js/customer-data": {
        "sectionLoadUrl": "/customer/section/load/", "reloads": [["cart"], ["customer"], ["wishlist"]]}})
    assert on_load_requests(html) == ["/customer/section/load/?sections=cart", "/customer/section/load/?sections=customer",
                                      "/customer/section/load/?sections=wishlist"]


def test_pages_without_customer_data_or_with_broken_config_fire_nothing():
    assert on_load_requests("<html><body>plain</body></html>") == []
    assert on_load_requests('<script type="text/x-magento-init">{not json</script>') == []
    assert on_load_requests(_page({"Magento_Theme/js/view/breadcrumbs": {"url": "/x"}})) == []
