<?php
// Cache frontends in Redis (default: DB 0, page_cache: DB 1) under env.php's id_prefix. Without one, Magento
// derives it from the install path: md5 of app/etc, first 3 characters + '_' — installs running from the same
// path (or sharing an env.php that pins it) read and write each other's entries.
declare(strict_types=1);

function gl_cache_prefix(): string
{
    $pinned = gl_config()['cache']['id_prefix'] ?? null;
    if (is_string($pinned) && $pinned !== '') {
        return $pinned;
    }
    return substr(md5((string)realpath(GL_ROOT . '/etc')), 0, 3) . '_';
}

function gl_cache(): Redis
{
    return gl_redis((int)gl_config()['cache']['redis_db']);
}

function gl_page_cache(): Redis
{
    return gl_redis((int)(gl_config()['cache']['page_cache_db'] ?? 1));
}

function gl_cache_get(string $key): ?string
{
    $v = gl_cache()->get(gl_cache_prefix() . $key);
    return $v === false ? null : $v;
}

function gl_cache_set(string $key, string $value): void
{
    gl_cache()->set(gl_cache_prefix() . $key, $value);
}

/** The cache databases of both frontends (one when they share a database). */
function gl_cache_backends(): array
{
    return array_values(array_unique([(int)gl_config()['cache']['redis_db'], (int)(gl_config()['cache']['page_cache_db'] ?? 1)]));
}

/** cache:clean [types] — this install's entries (its id_prefix) in every cache frontend, or only the full-page
 * cache's with `full_page`; cleaning the full-page cache also purges every http_cache_hosts entry (Varnish). */
function gl_cache_clean(array $types = []): int
{
    $n = 0;
    $pageOnly = $types === ['full_page'];
    $dbs = $pageOnly ? [(int)(gl_config()['cache']['page_cache_db'] ?? 1)] : gl_cache_backends();
    foreach ($dbs as $db) {
        $redis = gl_redis($db);
        $redis->setOption(Redis::OPT_SCAN, Redis::SCAN_RETRY);
        $it = null;
        while (($keys = $redis->scan($it, gl_cache_prefix() . ($pageOnly ? 'FPC_*' : '*'), 500)) !== false) {
            if ($keys) {
                $n += $redis->del($keys);
            }
        }
    }
    if (!$types || in_array('full_page', $types, true)) {
        gl_http_cache_purge();
    }
    return $n;
}

/** Magento's PurgeCache: `PURGE /` with X-Magento-Tags-Pattern to every http_cache_hosts entry. A host that
 * cannot be reached is logged, as Magento does ("Unable to purge the cache"), and the command still succeeds. */
function gl_http_cache_purge(string $pattern = '.*'): void
{
    foreach (gl_config()['http_cache_hosts'] ?? [] as $h) {
        $fh = @fsockopen((string)$h['host'], (int)($h['port'] ?? 80), $errno, $err, 3.0);
        if (!$fh) {
            error_log("Unable to purge the cache at {$h['host']}: $err");
            continue;
        }
        stream_set_timeout($fh, 3);
        fwrite($fh, "PURGE / HTTP/1.1\r\nHost: {$h['host']}\r\nX-Magento-Tags-Pattern: $pattern\r\nConnection: close\r\n\r\n");
        $status = (string)fgets($fh);
        fclose($fh);
        if (!preg_match('#^HTTP/\S+ 200#', $status)) {
            error_log("Unable to purge the cache at {$h['host']}: " . trim($status));
        }
    }
}

/** cache:flush, and what setup:upgrade does in 2.4 (Installer::updateModulesSequence → flushCaches): the whole
 * cache backend is emptied (FLUSHDB) whatever the id_prefix — the other colour's entries and anything else kept
 * in those databases go too. */
function gl_cache_flush(): void
{
    foreach (gl_cache_backends() as $db) {
        gl_redis($db)->flushDB();
    }
    gl_http_cache_purge();
}
