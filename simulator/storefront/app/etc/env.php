<?php
// Node-level deployment configuration (Magento's app/etc/env.php), taken from the environment so that
// credentials never live in the code base.
return [
    'db' => [
        'host' => getenv('MAGE_DB_HOST') ?: '127.0.0.1',
        'port' => (int)(getenv('MAGE_DB_PORT') ?: 3306),
        'dbname' => getenv('MAGE_DB_NAME') ?: 'magento',
        'username' => getenv('MAGE_DB_USER') ?: 'magento',
        'password' => getenv('MAGE_DB_PASSWORD') ?: '',
    ],
    'redis' => [
        'host' => getenv('MAGE_REDIS_HOST') ?: '127.0.0.1',
        'port' => (int)(getenv('MAGE_REDIS_PORT') ?: 6379),
    ],
    // Cm_RedisSession settings, with Magento's defaults.
    'session' => ['save' => 'redis', 'redis' => [
        'database' => 2, 'timeout' => 2.5, 'max_concurrency' => 6, 'break_after_frontend' => 5,
        'first_lifetime' => 600, 'bot_lifetime' => 7200, 'min_lifetime' => 60, 'max_lifetime' => 2592000,
        'disable_locking' => 0,
    ]],
    // Cache frontends. No id_prefix: Magento derives one from the install path (app/etc), so two installs share
    // entries exactly when they run from the same path; set MAGE_CACHE_ID_PREFIX to pin it (setup:install does).
    'cache' => [
        'redis_db' => 0,
        'page_cache_db' => 1,
        'id_prefix' => getenv('MAGE_CACHE_ID_PREFIX') ?: null,
    ],
    // Full-page cache: Magento's built-in one (in Redis, page_cache frontend) or Varnish (caching_application 2),
    // which Magento purges through every http_cache_hosts entry (PURGE with X-Magento-Tags-Pattern).
    'page_cache' => ['application' => getenv('MAGE_PAGE_CACHE') ?: 'builtin'],
    'http_cache_hosts' => array_values(array_filter(array_map(function ($h) {
        $h = trim($h);
        if ($h === '') {
            return null;
        }
        [$host, $port] = array_pad(explode(':', $h, 2), 2, '80');
        return ['host' => $host, 'port' => (int)$port];
    }, explode(',', (string)getenv('MAGE_HTTP_CACHE_HOSTS'))))),
    // Newline-separated key list, newest last (encryption:key:change appends). JWT customer tokens are signed
    // with the newest one; every node of both colours must hold the same list.
    'crypt' => ['key' => getenv('MAGE_CRYPT_KEY') ?: 'base64Z3JlZW5saWdodC1yZXBsaWNhLWtleS0wMDAwMDAwMDE='],
    // cron_consumers_runner: cron:run spawns each consumer that is not running yet.
    'cron_consumers_runner' => ['cron_run' => true, 'max_messages' => 10000],
    'deployment' => ['blue_green' => ['enabled' => false]],
    'node' => getenv('GREENLIGHT_NODE') ?: gethostname(),
    'colour' => getenv('GREENLIGHT_COLOUR') ?: '',
];
