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

/** cache:clean — this install's entries (its id_prefix) in every cache frontend. */
function gl_cache_clean(): int
{
    $n = 0;
    foreach (gl_cache_backends() as $db) {
        $redis = gl_redis($db);
        $redis->setOption(Redis::OPT_SCAN, Redis::SCAN_RETRY);
        $it = null;
        while (($keys = $redis->scan($it, gl_cache_prefix() . '*', 500)) !== false) {
            if ($keys) {
                $n += $redis->del($keys);
            }
        }
    }
    return $n;
}

/** cache:flush, and what setup:upgrade does in 2.4 (Installer::updateModulesSequence → flushCaches): the whole
 * cache backend is emptied (FLUSHDB) whatever the id_prefix — the other colour's entries and anything else kept
 * in those databases go too. */
function gl_cache_flush(): void
{
    foreach (gl_cache_backends() as $db) {
        gl_redis($db)->flushDB();
    }
}
