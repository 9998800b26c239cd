<?php
// The cache frontend: Redis, with a key prefix derived from the install path (as Magento's id_prefix), so each
// release directory has its own entries and cache:clean touches only them.
declare(strict_types=1);

function gl_cache_prefix(): string
{
    return substr(md5((string)realpath(GL_ROOT)), 0, 6) . '_';
}

function gl_cache(): Redis
{
    return gl_redis((int)gl_config()['cache']['redis_db']);
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

/** cache:clean — this install's entries only. */
function gl_cache_clean(): int
{
    $redis = gl_cache();
    $redis->setOption(Redis::OPT_SCAN, Redis::SCAN_RETRY);
    $n = 0;
    $it = null;
    while (($keys = $redis->scan($it, gl_cache_prefix() . '*', 500)) !== false) {
        if ($keys) {
            $n += $redis->del($keys);
        }
    }
    return $n;
}

/** cache:flush — Magento ends in FLUSHDB on the cache database, whatever else lives there. */
function gl_cache_flush(): void
{
    gl_cache()->flushDB();
}
