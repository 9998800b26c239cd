<?php
// Magento's built-in full-page cache (PageCache BuiltinPlugin) in Redis, page_cache frontend (DB 1): public pages
// keyed by the full URL (host and query string included, as Magento's identifier is) + the X-Magento-Vary cookie (the HTTP
// context: logged in, customer group), under the install's id_prefix. A hit never starts the session and never sets a cookie; the form key in its forms is the form_key cookie's
// when the browser sent one (Magento's page-cache.js does it in the browser).
declare(strict_types=1);

const GL_FPC_FORM_KEY = '%%GL_FORM_KEY%%';
const GL_FPC_TTL = 86400;

function gl_fpc_cacheable(string $method, string $path): bool
{
    // Home, product pages and the login page (customer_account_login.xml does not mark it cacheable="false").
    return $method === 'GET' && ($path === '/' || preg_match('#^/catalog/product/view/id/\d+/?$#', $path) === 1
        || preg_match('#^/customer/account/login/?$#', $path) === 1);
}

function gl_fpc_key(string $path): string
{
    $query = (string)(parse_url($_SERVER['REQUEST_URI'] ?? '', PHP_URL_QUERY) ?? '');
    // Magento\Framework\App\PageCache\Identifier: the whole URL (scheme and host too) and the vary cookie, so one
    // store host's pages are shared by every node that answers for it, and another host's are its own.
    $url = 'http://' . ($_SERVER['HTTP_HOST'] ?? '') . $path . ($query === '' ? '' : "?$query");
    return gl_cache_prefix() . 'FPC_' . md5($url . '|' . ($_COOKIE['X-Magento-Vary'] ?? ''));
}

/** A cached page for this request, ready to send, or null. */
function gl_fpc_lookup(string $path): ?array
{
    $raw = gl_page_cache()->get(gl_fpc_key($path));
    if ($raw === false) {
        return null;
    }
    $page = json_decode((string)$raw, true);
    if (!is_array($page)) {
        return null;
    }
    // The cached page's form inputs carry whatever key they were rendered with (another visitor's): a browser's
    // page-cache.js puts its form_key cookie in them. Without that cookie nothing here is this visitor's key.
    $formKey = (string)($_COOKIE['form_key'] ?? '');
    if (!gl_form_key_well_formed($formKey)) {
        $formKey = gl_random_form_key();
    }
    return [$page['status'], $page['headers'] + ['X-Magento-Cache-Debug' => 'HIT'],
            str_replace(GL_FPC_FORM_KEY, $formKey, $page['body'])];
}

function gl_fpc_store(string $path, int $status, array $headers, string $body): array
{
    $headers += ['Cache-Control' => 'max-age=' . GL_FPC_TTL . ', public, s-maxage=' . GL_FPC_TTL];
    if ($status === 200) {
        $key = (string)($_SESSION['_form_key'] ?? '');
        $generic = $key === '' ? $body : str_replace($key, GL_FPC_FORM_KEY, $body);
        gl_page_cache()->setex(gl_fpc_key($path), GL_FPC_TTL,
            json_encode(['status' => $status, 'headers' => $headers, 'body' => $generic]));
    }
    return [$status, $headers + ['X-Magento-Cache-Debug' => 'MISS'], $body];
}

/** The HTTP context hash Magento keeps in the X-Magento-Vary cookie (none for a guest in the default group). */
function gl_vary_cookie(?int $customerGroup): void
{
    if ($customerGroup === null) {
        setcookie('X-Magento-Vary', '', ['expires' => 1, 'path' => '/']);
        return;
    }
    setcookie('X-Magento-Vary', sha1(json_encode(['customer_group' => (string)$customerGroup, 'customer_logged_in' => true])),
        ['path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
}

/** Varnish (caching_application 2) keeps the pages: the application renders every request and marks cacheable
 * pages public, with the X-Magento-Tags a purge bans by; the built-in cache stays unused. */
function gl_fpc_varnish(): bool
{
    return (gl_config()['page_cache']['application'] ?? 'builtin') === 'varnish';
}

/** A cacheable page as it leaves the application for Varnish: public, tagged, and without this session's form key
 * (Magento's form-key-provider JS fills it in from the form_key cookie). */
function gl_fpc_for_varnish(string $path, int $status, array $headers, string $body): array
{
    if ($status !== 200) {
        return [$status, $headers, $body];
    }
    $tags = preg_match('#/id/(\d+)#', $path, $m) ? "cat_p,cat_p_{$m[1]},store" : 'cms_p,cms_p_1,store';
    $key = (string)($_SESSION['_form_key'] ?? '');
    return [$status, ['Cache-Control' => 'max-age=' . GL_FPC_TTL . ', public, s-maxage=' . GL_FPC_TTL,
                      'Pragma' => 'cache', 'Expires' => gmdate('D, d M Y H:i:s', time() + GL_FPC_TTL) . ' GMT',
                      'X-Magento-Tags' => $tags] + $headers,
            $key === '' ? $body : str_replace('value="' . $key . '"', 'value=""', $body)];
}

