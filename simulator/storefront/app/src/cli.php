<?php
// bin/magento commands: setup:upgrade, setup:static-content:deploy, cache:clean, cache:flush,
// greenlight:status, greenlight:smoke.
declare(strict_types=1);

require_once __DIR__ . '/bootstrap.php';
require_once __DIR__ . '/cache.php';
require_once __DIR__ . '/dbstatus.php';
require_once __DIR__ . '/checkout.php';
require_once __DIR__ . '/rest.php';
require_once __DIR__ . '/framework.php';
require_once __DIR__ . '/pages.php';

function gl_cli(array $args): int
{
    $cmd = array_shift($args) ?? '';
    $opts = [];
    foreach ($args as $a) {
        if (preg_match('/^--([a-z-]+)(?:=(.*))?$/', $a, $m)) {
            $opts[$m[1]] = $m[2] ?? true;
        }
    }
    if (isset($opts['db-name'])) {
        if (!preg_match('/^[A-Za-z0-9_]+$/', (string)$opts['db-name'])) {
            fwrite(STDERR, "--db-name must be a plain database name\n");
            return 2;
        }
        $GLOBALS['gl_db_name'] = $opts['db-name'];
    }
    try {
        switch ($cmd) {
            case 'setup:upgrade':
                return gl_setup_upgrade();
            case 'setup:static-content:deploy':
                return gl_static_deploy();
            case 'cache:clean':
                echo 'Cleaned ' . gl_cache_clean(array_values(array_filter($args, fn($a) => !str_starts_with($a, '--'))))
                    . " cache entries.\n";
                return 0;
            case 'cache:flush':
                gl_cache_flush();
                echo "Flushed cache storage.\n";
                return 0;
            case 'app:config:import':
                gl_config_import();
                echo "Configuration was imported.\n";
                return 0;
            case 'cron:run':
                return gl_cron_run();
            case 'cron:install':
                return gl_cron_install(true);
            case 'cron:remove':
                return gl_cron_install(false);
            case 'queue:consumers:start':
                return gl_consumer_start((string)($args[0] ?? ''), (int)($opts['max-messages'] ?? 10000));
            case 'greenlight:status':
                echo json_encode(gl_status()), "\n";
                return 0;
            case 'greenlight:smoke':
                return gl_smoke($opts);
            default:
                fwrite(STDERR, "Unknown command '$cmd'. Commands: setup:upgrade, setup:static-content:deploy, app:config:import, cache:clean, cache:flush, cron:run, cron:install, cron:remove, queue:consumers:start, greenlight:status, greenlight:smoke\n");
                return 2;
        }
    } catch (Throwable $e) {
        fwrite(STDERR, "$cmd failed: " . $e->getMessage() . "\n");
        return 1;
    }
}

/** Apply this release's migrations not yet applied (in manifest order), then record its module versions. */
function gl_setup_upgrade(): int
{
    $m = gl_manifest();
    $applied = gl_q('SELECT name FROM greenlight_migrations')->fetchAll(PDO::FETCH_COLUMN);
    $n = 0;
    foreach ($m['migrations'] ?? [] as $file) {
        $name = basename($file);
        if (in_array($name, $applied, true)) {
            continue;
        }
        $sql = (string)file_get_contents(GL_ROOT . '/' . $file);
        foreach (array_filter(array_map('trim', explode(';', $sql))) as $stmt) {
            gl_db()->exec($stmt);
        }
        gl_q('INSERT INTO greenlight_migrations (name, release_id, applied_at) VALUES (?, ?, NOW())', [$name, $m['release']]);
        $n++;
    }
    $recorded = gl_q('SELECT module, schema_version FROM setup_module')->fetchAll(PDO::FETCH_KEY_PAIR);
    foreach ($m['modules'] as $module => $version) {
        // Never downgrade: an older release deployed again leaves the newer version recorded.
        if (!isset($recorded[$module]) || version_compare($version, $recorded[$module], '>')) {
            gl_q('REPLACE INTO setup_module (module, schema_version, data_version) VALUES (?, ?, ?)', [$module, $version, $version]);
        }
    }
    gl_config_import();
    // 2.4: Installer::updateModulesSequence → flushCaches empties the whole cache backend, whatever the prefix.
    gl_cache_flush();
    echo "Applied $n migration(s) for release {$m['release']}; configuration imported; cache storage flushed.\n";
    return 0;
}

function gl_status(): array
{
    $m = gl_manifest();
    try {
        $db = gl_db_status();
    } catch (Throwable $e) {
        $db = 'unreachable';
    }
    return ['release' => $m['release'], 'modules' => (object)$m['modules'], 'blue_green_enabled' => gl_blue_green_enabled(),
            'db_status' => $db, 'session_save' => gl_config()['session']['save'] ?? 'redis',
            'static_version' => $m['static_version'], 'cache_id_prefix' => gl_cache_prefix(),
            'cache_dbs' => gl_cache_backends(),
            // Fingerprints only: the key list itself is a secret.
            'crypt_keys' => array_map(fn($k) => substr(hash('sha256', $k), 0, 12), gl_crypt_keys()),
            'config_hashes' => gl_config_hashes(), 'cron_installed' => is_file(gl_crontab_path())];
}

/** A guest checkout through the app's own REST handlers, in-process, against the selected database. */
function gl_smoke(array $opts): int
{
    $steps = [];
    $sku = (string)($opts['sku'] ?? 'GL-0001');
    try {
        // The checks the front controller runs before any controller, read fresh (not from the live cache).
        gl_front_checks(false);
        $steps[] = 'front controller';
        [, $cart] = gl_rest('POST', '/V1/guest-carts', null, null);
        $steps[] = 'cart';
        gl_rest('POST', "/V1/guest-carts/$cart/items", ['cartItem' => ['sku' => $sku, 'qty' => 1, 'quote_id' => $cart]], null);
        $steps[] = 'add item';
        gl_rest('GET', "/V1/guest-carts/$cart/totals", null, null);
        $steps[] = 'totals';
        $addr = ['firstname' => 'Smoke', 'lastname' => 'Rehearsal', 'street' => ['1 Gate Road'], 'city' => 'Austin',
                 'postcode' => '78701', 'country_id' => 'US', 'telephone' => '5125550100', 'email' => 'rehearsal@smoke.greenlight.test'];
        gl_rest('POST', "/V1/guest-carts/$cart/shipping-information", ['addressInformation' => [
            'shipping_address' => $addr, 'billing_address' => $addr,
            'shipping_carrier_code' => 'flatrate', 'shipping_method_code' => 'flatrate']], null);
        $steps[] = 'shipping';
        [, $order] = gl_rest('POST', "/V1/guest-carts/$cart/payment-information", ['email' => $addr['email'], 'paymentMethod' => ['method' => 'checkmo']], null);
        $steps[] = 'place order';
        gl_q('SELECT entity_id, customer_email, grand_total FROM sales_order WHERE entity_id = ?', [$order])->fetch();
        echo "smoke ok: order $order\n";
        return 0;
    } catch (Throwable $e) {
        $after = $steps ? end($steps) : 'start';
        echo "smoke failed after '$after': " . $e->getMessage() . "\n";
        return 1;
    }
}
