<?php
// The front controller's dispatch: maintenance, warm-up, DB status check, then REST or storefront.
declare(strict_types=1);

require_once __DIR__ . '/bootstrap.php';
require_once __DIR__ . '/cache.php';
require_once __DIR__ . '/dbstatus.php';
require_once __DIR__ . '/checkout.php';
require_once __DIR__ . '/rest.php';
require_once __DIR__ . '/storefront.php';
require_once __DIR__ . '/pages.php';
require_once __DIR__ . '/health.php';
require_once __DIR__ . '/framework.php';

function gl_send(int $status, array $headers, string $body): void
{
    http_response_code($status);
    foreach ($headers as $k => $v) {
        header("$k: $v");
    }
    echo $body;
}

function gl_json(int $status, $value): void
{
    // As Magento's REST responses: never stored by a cache in front (Varnish, a CDN).
    gl_send($status, ['Content-Type' => 'application/json; charset=utf-8',
                      'Cache-Control' => 'no-store, no-cache, must-revalidate, max-age=0', 'Pragma' => 'no-cache'],
        json_encode($value, JSON_UNESCAPED_SLASHES));
}

/** A release that is slow to warm up: its first requests after activation crawl. */
function gl_warmup_delay(): void
{
    $n = (int)gl_defect('warmup_slow_requests', 0);
    if ($n <= 0) {
        return;
    }
    $f = sys_get_temp_dir() . '/gl-warmup-' . md5((string)realpath(GL_ROOT));
    $fh = fopen($f, 'c+');
    flock($fh, LOCK_EX);
    $count = (int)stream_get_contents($fh);
    ftruncate($fh, 0);
    rewind($fh);
    fwrite($fh, (string)($count + 1));
    flock($fh, LOCK_UN);
    fclose($fh);
    if ($count < $n) {
        usleep(2500000);
    }
}

function gl_handle_http(): void
{
    $path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
    $method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
    if ($path === '/healthz') {
        [$st, $body] = gl_health();
        header('Cache-Control: no-store');
        gl_json($st, $body);
        return;
    }
    if ($path === '/health_check.php') {
        // Magento's pub/health_check.php: the DB connection and the cache backends; an empty 200, or a 500. It
        // knows nothing of the maintenance flag.
        [$st, $body] = gl_health();
        $down = ($body['db'] ?? 'ok') !== 'ok' || ($body['redis'] ?? 'ok') !== 'ok';
        http_response_code($down ? 500 : 200);
        return;
    }
    // /rest/V1/... or /rest/<store code>/V1/...
    $isRest = (bool)preg_match('#^/rest(?:/[a-z0-9_]+)?(/V1/.*)$#', $path, $m);
    try {
        if (is_file(GL_ROOT . '/var/.maintenance.flag')) {
            throw new HttpError(503, 'Service Temporarily Unavailable');
        }
        gl_warmup_delay();
        gl_front_checks();
        if ($isRest) {
            $raw = file_get_contents('php://input');
            $body = null;
            if ($raw !== '' && $raw !== false) {
                $body = json_decode($raw, true);
                if (!is_array($body) && json_last_error() !== JSON_ERROR_NONE) {
                    throw new HttpError(400, 'Decoding error: ' . json_last_error_msg());
                }
                if (!is_array($body)) {
                    $body = [];
                }
            }
            [$st, $value] = gl_rest($method, $m[1], $body, $_SERVER['HTTP_AUTHORIZATION'] ?? null);
            gl_json($st, $value);
            return;
        }
        $cacheable = gl_fpc_cacheable($method, $path);
        $varnish = gl_fpc_varnish();
        $hit = $cacheable && !$varnish ? gl_fpc_lookup($path) : null;
        [$st, $headers, $html] = $hit ?? gl_storefront($method, $path);
        if ($cacheable && $varnish) {
            [$st, $headers, $html] = gl_fpc_for_varnish($path, $st, $headers, $html);
        } elseif ($cacheable && !$hit) {
            [$st, $headers, $html] = gl_fpc_store($path, $st, $headers, $html);
        }
        gl_send($st, $headers + (isset($headers['Content-Type']) ? [] : ['Content-Type' => 'text/html; charset=UTF-8']), $html);
    } catch (GlSessionConcurrency $e) {
        // Cm_RedisSession's ConcurrentConnectionsExceededException: Magento answers from errors/503.php.
        error_log('storefront: ' . $e->getMessage());
        gl_send(503, ['Content-Type' => 'text/html; charset=UTF-8', 'Retry-After' => '5'],
            '<!doctype html><title>Service Temporarily Unavailable</title><h1>Service Temporarily Unavailable</h1>'
            . '<p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p>');
    } catch (HttpError $e) {
        if ($isRest) {
            $out = ['message' => $e->getMessage()];
            if ($e->parameters) {
                $out['parameters'] = $e->parameters;
            }
            gl_json($e->status, $out);
        } else {
            gl_send($e->status, ['Content-Type' => 'text/html; charset=UTF-8'],
                '<!doctype html><title>Error</title><h1>' . htmlspecialchars($e->getMessage()) . '</h1>');
        }
    } catch (Throwable $e) {
        error_log('storefront: ' . get_class($e) . ': ' . $e->getMessage());
        $report = 'webapi-' . substr(bin2hex(random_bytes(6)), 0, 13);
        if ($isRest) {
            gl_json(500, ['message' => "Internal Error. Details are available in Magento log file. Report ID: $report"]);
        } else {
            gl_send(500, ['Content-Type' => 'text/html; charset=UTF-8'],
                "<!doctype html><title>Error</title><h1>There has been an error processing your request</h1><p>Error log record number: $report</p>");
        }
    }
}
