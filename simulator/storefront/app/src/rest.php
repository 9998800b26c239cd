<?php
// Magento's REST API (webapi.xml routes) for guest and customer checkout.
declare(strict_types=1);

/** @return array{0:int,1:mixed} status and JSON value */
function gl_rest(string $method, string $path, ?array $body, ?string $authorization): array
{
    $b = $body ?? [];
    $routes = [
        ['POST', '#^/V1/guest-carts$#', fn() => gl_create_guest_cart()],
        ['GET', '#^/V1/guest-carts/([0-9a-f]{32}|[^/]+)$#', fn($id) => gl_cart_view(gl_cart_by_mask($id))],
        ['POST', '#^/V1/guest-carts/([^/]+)/items$#', function ($id) use ($b) {
            $q = gl_cart_by_mask($id);
            $item = gl_required($b, 'cartItem');
            if (!is_array($item)) {
                throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'cartItem']);
            }
            return gl_add_item($q, (string)gl_required($item, 'sku'), (float)gl_required($item, 'qty'));
        }],
        ['GET', '#^/V1/guest-carts/([^/]+)/totals$#', fn($id) => gl_totals(gl_cart_by_mask($id))],
        ['POST', '#^/V1/guest-carts/([^/]+)/estimate-shipping-methods$#', fn($id) => gl_shipping_methods(gl_cart_by_mask($id), $b)],
        ['POST', '#^/V1/guest-carts/([^/]+)/shipping-information$#', fn($id) => gl_set_shipping(gl_cart_by_mask($id), $b)],
        ['POST', '#^/V1/guest-carts/([^/]+)/payment-information$#', function ($id) use ($b) {
            $email = $b['email'] ?? null;
            if (!$email) {
                throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'email']);
            }
            return gl_place_order(gl_cart_by_mask($id), $b, (string)$email);
        }],
        ['POST', '#^/V1/customers$#', fn() => gl_create_customer($b)],
        ['POST', '#^/V1/integration/customer/token$#', function () use ($b) {
            $user = (string)gl_required($b, 'username');
            $id = gl_authenticate($user, (string)gl_required($b, 'password'));
            if ($id === null) {
                throw new HttpError(401, 'The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.');
            }
            return gl_issue_token($id);
        }],
        ['GET', '#^/V1/customers/me$#', fn() => gl_customer(gl_customer_for_token($authorization))],
        ['POST', '#^/V1/carts/mine$#', fn() => (int)gl_customer_cart(gl_customer_for_token($authorization), true)['entity_id']],
        ['GET', '#^/V1/carts/mine$#', fn() => gl_cart_view(gl_mine($authorization))],
        ['POST', '#^/V1/carts/mine/items$#', function () use ($b, $authorization) {
            $q = gl_mine($authorization);
            $item = gl_required($b, 'cartItem');
            if (!is_array($item)) {
                throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'cartItem']);
            }
            return gl_add_item($q, (string)gl_required($item, 'sku'), (float)gl_required($item, 'qty'));
        }],
        ['GET', '#^/V1/carts/mine/totals$#', fn() => gl_totals(gl_mine($authorization))],
        ['POST', '#^/V1/carts/mine/estimate-shipping-methods$#', fn() => gl_shipping_methods(gl_mine($authorization), $b)],
        ['POST', '#^/V1/carts/mine/shipping-information$#', fn() => gl_set_shipping(gl_mine($authorization), $b)],
        ['POST', '#^/V1/carts/mine/payment-information$#', function () use ($b, $authorization) {
            $q = gl_mine($authorization);
            return gl_place_order($q, $b, gl_customer((int)$q['customer_id'])['email']);
        }],
    ];
    foreach ($routes as [$m, $re, $fn]) {
        if ($m === $method && preg_match($re, $path, $mm)) {
            return [200, $fn(...array_slice($mm, 1))];
        }
    }
    throw new HttpError(404, 'Request does not match any route.');
}

function gl_mine(?string $authorization): array
{
    $customer = gl_customer_for_token($authorization);
    $q = gl_customer_cart($customer, false);
    if (!$q) {
        throw new HttpError(404, 'No such entity with %fieldName = %fieldValue', ['fieldName' => 'customerId', 'fieldValue' => $customer]);
    }
    return $q;
}
