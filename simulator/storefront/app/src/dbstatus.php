<?php
// Magento's DbStatusValidator: code module versions vs setup_module, cached as db_is_up_to_date.
declare(strict_types=1);

function gl_db_status(): string
{
    $code = gl_manifest()['modules'];
    $rows = gl_q('SELECT module, schema_version FROM setup_module')->fetchAll(PDO::FETCH_KEY_PAIR);
    foreach ($code as $module => $version) {
        $db = $rows[$module] ?? null;
        if ($db === null || version_compare($db, $version, '<')) {
            return 'db_older';
        }
        if (version_compare($db, $version, '>')) {
            return 'db_newer';
        }
    }
    return 'up_to_date';
}

function gl_blue_green_enabled(): bool
{
    return (bool)(gl_config()['deployment']['blue_green']['enabled'] ?? false);
}

/** Throws the errors Magento renders as HTTP 500 when the DB and the code disagree. */
function gl_check_db_status(): void
{
    if (gl_blue_green_enabled()) {
        return;
    }
    $status = gl_cache_get('db_is_up_to_date');
    if ($status === null) {
        $status = gl_db_status();
        gl_cache_set('db_is_up_to_date', $status);
    }
    gl_raise_db_status($status);
}

function gl_raise_db_status(string $status): void
{
    if ($status === 'db_newer') {
        throw new HttpError(500, 'Please update your modules: Run "composer install" from the Magento root directory.');
    }
    if ($status === 'db_older') {
        throw new HttpError(500, 'Please upgrade your database: Run "bin/magento setup:upgrade" from the Magento root directory.');
    }
}
