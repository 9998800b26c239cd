<?php
// Storefront pages with a PHPSESSID session in the shared Redis, form_key, and private content sections.
declare(strict_types=1);

function gl_session_start(): void
{
    gl_session_open();
    // Magento never sends a form_key cookie: its form-key-provider.js makes one in the browser, and the PageCache
    // plugin RegisterFormKeyFromCookie (app/code/Magento/PageCache/Plugin/RegisterFormKeyFromCookie.php) makes a
    // well-formed cookie the session's form key on every request. Without one the session keeps (or makes) its own.
    $cookie = (string)($_COOKIE['form_key'] ?? '');
    if (gl_form_key_well_formed($cookie)) {
        $_SESSION['_form_key'] = $cookie;
    } elseif (empty($_SESSION['_form_key'])) {
        $_SESSION['_form_key'] = gl_random_form_key();
    }
}

/** Magento\Framework\Data\Form\FormKey: 16 characters of Math\Random's alphanumerics. */
function gl_random_form_key(): string
{
    $chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    $key = '';
    for ($i = 0; $i < 16; $i++) {
        $key .= $chars[random_int(0, strlen($chars) - 1)];
    }
    return $key;
}

function gl_form_key_well_formed(string $key): bool
{
    return (bool)preg_match('/^[A-Za-z0-9]{16}$/', $key);
}

/** A store setting as Magento reads it (ScopeConfig, default scope): core_config_data, else config.xml's default. */
function gl_store_config(string $path, $default = null)
{
    static $seen = [];
    if (!array_key_exists($path, $seen)) {
        $v = gl_q("SELECT value FROM core_config_data WHERE scope = 'default' AND scope_id = 0 AND path = ?", [$path])
            ->fetchColumn();
        $seen[$path] = $v === false ? $default : $v;
    }
    return $seen[$path];
}

function gl_static_url(string $path): string
{
    $v = @file_get_contents(GL_ROOT . '/pub/static/deployed_version.txt');
    // Absolute, as Magento's asset repository makes every static URL (web/unsecure/base_static_url).
    return gl_url('static/version' . trim((string)$v) . '/frontend/Greenlight/luma/en_US/' . $path);
}

/** A page. Public (cacheable) pages carry no customer data: the header's greeting comes from customer/section/load. */
function gl_page(string $title, string $body, bool $public = false): string
{
    $h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
    $banner = gl_config()['banner'] ? '<div class="banner">' . $h(gl_config()['banner']) . '</div>' : '';
    // A defect a real team ships: a block with customer data left cacheable (no cacheable="false"/private scope).
    $who = isset($_SESSION['customer_id']) && (!$public || gl_defect('greeting_in_cached_pages'))
        ? 'Welcome, ' . $h($_SESSION['customer_name'] ?? '')
        : '<span class="customer-name" data-bind="customer().fullname"></span><a href="/customer/account/login/">Sign In</a>';
    $links = '';
    foreach (gl_page_assets() as $asset) {
        $links .= str_ends_with($asset, '.css') ? '<link rel="stylesheet" href="' . gl_static_url($asset) . '">'
            : '<script src="' . gl_static_url($asset) . '"></script>';
    }
    // Magento_Customer/js/customer-data reloads the private-content sections when a page loads; `reloads` is what
    // this page's scripts fire, one request per entry, all at once as a browser does (a theme may split them).
    $init = ['*' => ['Magento_Customer/js/customer-data' => [
        'sectionLoadUrl' => '/customer/section/load/', 'expirableSectionLifetime' => 60,
        'reloads' => gl_config()['section_reloads'] ?? [['cart', 'customer']]]]];
    return '<!doctype html><html><head><meta charset="utf-8"><title>' . $h($title) . '</title>'
        . $links . '<script type="text/x-magento-init">' . json_encode($init, JSON_UNESCAPED_SLASHES) . '</script>'
        . '</head><body>'
        . $banner . '<header>' . $who . '</header><main>' . $body . '</main>'
        . '<input type="hidden" name="form_key" value="' . $h($_SESSION['_form_key']) . '">'
        . '</body></html>';
}

function gl_redirect(string $to): array
{
    return [302, ['Location' => $to], ''];
}

/** The store's base URL (web/unsecure/base_url). config.xml's default, {{unsecure_base_url}}, is the URL the
 * request came in on (Magento\Framework\App\Request\Http::getDistroBaseUrl: its Host, port included). */
function gl_base_url(): string
{
    $base = (string)gl_store_config('web/unsecure/base_url', '');
    if ($base === '') {
        $base = 'http://' . ($_SERVER['HTTP_HOST'] ?? '127.0.0.1') . '/';
    }
    return rtrim($base, '/') . '/';
}

function gl_url(string $route): string
{
    return gl_base_url() . ltrim($route, '/');
}

/** Magento\Framework\App\Response\RedirectInterface::getRefererUrl: the `uenc` parameter (base64url of the page
 * the form was on) or the Referer header; one that is not on this store becomes the base URL. */
function gl_referer_url(array $params): string
{
    $url = (string)($_SERVER['HTTP_REFERER'] ?? '');
    if (!empty($params['uenc'])) {
        $url = (string)base64_decode(strtr((string)$params['uenc'], '-_,', '+/='), true);
    }
    return str_starts_with($url, gl_base_url()) ? $url : gl_base_url();
}

/** A controller path's parameters as Magento's router reads them: /checkout/cart/add/uenc/X/product/5/ → [uenc=>X,
 * product=>5], merged under the POST fields. */
function gl_path_params(string $path, string $route): array
{
    $rest = trim(substr($path, strlen($route)), '/');
    $parts = $rest === '' ? [] : explode('/', $rest);
    $out = [];
    for ($i = 0; $i + 1 < count($parts); $i += 2) {
        $out[$parts[$i]] = urldecode($parts[$i + 1]);
    }
    return $_POST + $out;
}

/** Where add-to-cart sends the shopper (Magento\Checkout\Controller\Cart\Add::goBack): the cart page when
 * checkout/cart/redirect_to_cart is set (config.xml default: 0), else back to the page the form was on; an AJAX
 * request (Luma's catalog-add-to-cart.js) gets JSON instead, with a backUrl only when there is one to go to. */
function gl_add_to_cart_answer(array $params, ?string $backUrl): array
{
    $toCart = (int)gl_store_config('checkout/cart/redirect_to_cart', 0) === 1;
    $ajax = !empty($params['isAjax']) || ($_SERVER['HTTP_X_REQUESTED_WITH'] ?? '') === 'XMLHttpRequest';
    if (!empty($params['return_url']) && str_starts_with((string)$params['return_url'], gl_base_url())) {
        $backUrl = (string)$params['return_url'];
    } elseif ($backUrl === null && $toCart) {
        $backUrl = gl_url('checkout/cart/');
    }
    if ($ajax) {
        return [200, ['Content-Type' => 'application/json'], json_encode($backUrl === null ? new stdClass() : ['backUrl' => $backUrl], JSON_UNESCAPED_SLASHES)];
    }
    return gl_redirect($backUrl ?? gl_referer_url($params));
}

/** @return array{0:int,1:array,2:string} status, headers, body */
function gl_storefront(string $method, string $path): array
{
    gl_session_start();
    $h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
    if ($method === 'GET' && ($path === '/' || $path === '/index.php')) {
        $rows = gl_q('SELECT entity_id, sku, name, price FROM catalog_product_entity ORDER BY entity_id')->fetchAll();
        $list = implode('', array_map(fn($p) => '<li><a href="/catalog/product/view/id/' . $p['entity_id'] . '">'
            . $h($p['name']) . '</a> $' . $h($p['price']) . '</li>', $rows));
        return [200, [], gl_page('Home', "<ul class=\"products\">$list</ul>", true)];
    }
    if ($method === 'GET' && preg_match('#^/catalog/product/view/id/(\d+)/?$#', $path, $m)) {
        $p = gl_product_by_id((int)$m[1]);
        if (!$p) {
            return [404, [], gl_page('404 Not Found', '<h1>Whoops, our bad...</h1>')];
        }
        $broken = gl_defect('product_page_fails_above_id');
        if ($broken && $p['entity_id'] > $broken) {  // a template that throws; the error page goes out as 200
            return [200, [], gl_error_report_page()];
        }
        return [200, [], gl_page($p['name'], '<h1 class="product-name">' . $h($p['name']) . '</h1><span class="sku">'
            . $h($p['sku']) . '</span><span class="price">$' . $h($p['price']) . '</span>'
            . gl_add_to_cart_form($p), true)];
    }
    if ($method === 'GET' && preg_match('#^/customer/account/login/?$#', $path)) {
        return [200, [], gl_page('Customer Login', '<form method="post" action="/customer/account/loginPost/">'
            . '<input type="hidden" name="form_key" value="' . $h($_SESSION['_form_key']) . '">'
            . '<input name="login[username]"><input type="password" name="login[password]"></form>', true)];
    }
    if ($method === 'POST' && preg_match('#^/customer/account/loginPost/?$#', $path)) {
        if (!gl_form_key_ok()) {
            return gl_redirect('/customer/account/login/');
        }
        $login = $_POST['login'] ?? [];
        $id = gl_authenticate((string)($login['username'] ?? ''), (string)($login['password'] ?? ''));
        if ($id === null) {
            gl_message('error', 'The account sign-in was incorrect or your account is disabled temporarily.');
            return gl_redirect('/customer/account/login/');
        }
        session_regenerate_id(true);
        $c = gl_customer($id);
        $_SESSION['customer_id'] = $id;
        $_SESSION['customer_name'] = $c['firstname'] . ' ' . $c['lastname'];
        $_SESSION['customer_firstname'] = $c['firstname'];
        gl_vary_cookie(1);
        // As Magento does at log-in: the customer's saved (active) cart becomes the session's cart.
        $saved = gl_customer_cart($id, false);
        if ($saved) {
            $_SESSION[gl_quote_key()] = (int)$saved['entity_id'];
        }
        return gl_redirect('/customer/account/');
    }
    if ($method === 'GET' && preg_match('#^/customer/account/?$#', $path)) {
        if (empty($_SESSION['customer_id'])) {
            return gl_redirect('/customer/account/login/');
        }
        return [200, [], gl_page('My Account', '<h1>My Account</h1>')];
    }
    if ($method === 'POST' && preg_match('#^/checkout/cart/add(/|$)#', $path)) {
        $params = gl_path_params($path, '/checkout/cart/add');
        if (!gl_form_key_ok()) {
            gl_message('error', 'Your session has expired');
            return gl_redirect(gl_url('checkout/cart/'));
        }
        $p = gl_product_by_id((int)($params['product'] ?? 0));
        if (!$p) {
            return gl_add_to_cart_answer($params, null);
        }
        $quote = gl_session_quote();
        try {
            gl_add_item($quote, $p['sku'], (float)($params['qty'] ?? 1));
        } catch (HttpError $e) {  // a LocalizedException: the reason as a message, back where the shopper was
            gl_message('error', $e->getMessage());
            return gl_add_to_cart_answer($params, gl_referer_url($params));
        }
        // With the cart redirect a plain message; without it Magento's addCartSuccessMessage links the cart.
        gl_message('success', 'You added ' . $p['name'] . ' to your shopping cart.');
        return gl_add_to_cart_answer($params, null);
    }
    if ($method === 'GET' && preg_match('#^/checkout/cart/?$#', $path)) {
        $q = gl_session_active_quote();
        $items = $q ? gl_items((int)$q['entity_id']) : [];
        // Magento_Checkout's cart/item/default.phtml: one tbody per item, its qty an input named by the item id.
        $rows = implode('', array_map(fn($i) => '<tbody class="cart item"><tr class="item-info">'
            . '<td data-th="Item" class="col item"><div class="product-item-details"><strong class="product-item-name">'
            . '<a href="' . $h(gl_url('catalog/product/view/id/' . gl_product_by_sku($i['sku'])['entity_id'])) . '">' . $h($i['name']) . '</a></strong></div></td>'
            . '<td class="col price" data-th="Price"><span class="price">$' . $h($i['price']) . '</span></td>'
            . '<td class="col qty" data-th="Qty"><div class="field qty"><label class="label" for="cart-' . $i['item_id'] . '-qty"><span>Qty</span></label>'
            . '<div class="control qty"><input id="cart-' . $i['item_id'] . '-qty" name="cart[' . $i['item_id'] . '][qty]" data-cart-item-id="'
            . $h($i['sku']) . '" value="' . $h(gl_qty_text($i['qty'])) . '" type="number" size="4" step="any" title="Qty" class="input-text qty"'
            . ' data-validate="{required:true,\'validate-greater-than-zero\':true}" data-role="cart-item-qty"/></div></div></td>'
            . '</tr></tbody>', $items));
        $body = $items
            ? '<form action="' . $h(gl_url('checkout/cart/updatePost/')) . '" method="post" id="form-validate" class="form form-cart">'
              . '<input name="form_key" type="hidden" value="' . $h($_SESSION['_form_key']) . '">'
              . '<div class="cart table-wrapper"><table id="shopping-cart-table" class="cart items data table">' . $rows . '</table></div></form>'
            : '<div class="cart-empty"><p>You have no items in your shopping cart.</p></div>';
        return [200, [], gl_page('Shopping Cart', $body)];
    }
    if ($method === 'GET' && preg_match('#^/customer/section/load/?$#', $path)) {
        // A defect a real team ships: a section that calls a slow remote service (loyalty points from an ERP) while
        // the request holds the session lock, so every other request of that session waits behind it.
        $slow = (int)gl_defect('section_load_slow_ms', 0);
        if ($slow > 0) {
            usleep($slow * 1000);
        }
        return [200, ['Cache-Control' => 'no-store, no-cache, must-revalidate, max-age=0', 'Pragma' => 'no-cache',
                      'Content-Type' => 'application/json'], json_encode(gl_sections())];
    }
    $page = gl_checkout_pages($method, $path);
    return $page ?? [404, [], gl_page('404 Not Found', '<h1>Whoops, our bad...</h1>')];
}

/** Magento_Catalog's product/view/form.phtml: posts to checkout/cart/add/uenc/<base64url of this page>/product/<id>/. */
function gl_add_to_cart_form(array $p): string
{
    $h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
    $page = gl_url('catalog/product/view/id/' . $p['entity_id']);
    $uenc = strtr(base64_encode($page), '+/=', '-_,');
    return '<form data-product-sku="' . $h($p['sku']) . '" action="' . $h(gl_url("checkout/cart/add/uenc/$uenc/product/{$p['entity_id']}/"))
        . '" method="post" id="product_addtocart_form"><input type="hidden" name="product" value="' . $p['entity_id'] . '">'
        . '<input type="hidden" name="selected_configurable_option" value=""><input type="hidden" name="related_product" id="related-products-field" value="">'
        . '<input type="hidden" name="item" value="' . $p['entity_id'] . '">'
        . '<input name="form_key" type="hidden" value="' . $h($_SESSION['_form_key']) . '">'
        . '<input type="number" name="qty" id="qty" min="0" value="1" title="Qty" class="input-text qty">'
        . '<button type="submit" title="Add to Cart" class="action primary tocart" id="product-addtocart-button"><span>Add to Cart</span></button></form>';
}

/** A quantity as the cart's qty input shows it ($item->getQty() * 1): 2, 1.5. */
function gl_qty_text($qty): string
{
    return rtrim(rtrim(number_format((float)$qty, 4, '.', ''), '0'), '.');
}

function gl_form_key_ok(): bool
{
    return isset($_POST['form_key']) && hash_equals((string)$_SESSION['_form_key'], (string)$_POST['form_key']);
}

function gl_session_quote(): array
{
    if (!empty($_SESSION[gl_quote_key()])) {
        $q = gl_q('SELECT * FROM quote WHERE entity_id = ? AND is_active = 1', [$_SESSION[gl_quote_key()]])->fetch();
        if ($q) {
            return $q;
        }
    }
    if (!empty($_SESSION['customer_id'])) {
        $q = gl_customer_cart((int)$_SESSION['customer_id'], true);
    } else {
        $q = gl_cart_by_mask(gl_create_guest_cart());
    }
    $_SESSION[gl_quote_key()] = (int)$q['entity_id'];
    return $q;
}

function gl_sections(): array
{
    $customer = new stdClass();
    if (!empty($_SESSION['customer_id'])) {
        $customer = ['fullname' => $_SESSION['customer_name'], 'firstname' => $_SESSION['customer_firstname'], 'websiteId' => '1'];
    }
    $items = [];
    $sub = 0.0;
    $quote = gl_session_active_quote();
    if ($quote) {
        foreach (gl_items((int)$quote['entity_id']) as $i) {
            $items[] = ['product_sku' => $i['sku'], 'qty' => $i['qty'], 'product_name' => $i['name'], 'item_id' => $i['item_id']];
            $sub += $i['qty'] * $i['price'];
        }
    }
    return [
        'customer' => $customer,
        'cart' => ['summary_count' => array_sum(array_column($items, 'qty')), 'subtotalAmount' => number_format($sub, 2, '.', ''),
                   'items' => $items],
    ];
}
