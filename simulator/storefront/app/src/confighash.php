<?php
// Magento's ConfigChangeDetector (Deploy/Model/Plugin/ConfigChangeDetector on the front controller): the
// importable sections of the config files (system, scopes, themes) are hashed; app:config:import and
// setup:upgrade store the hashes in the `flag` table (config_hash). Without deployment/blue_green/enabled, a
// request on code whose config hashes differ from the stored ones fails: "The configuration file has changed…"
// (HTTP 500 in production). pub/health_check.php (here /healthz) does not go through the front controller.
declare(strict_types=1);

const GL_IMPORTABLE_SECTIONS = ['system', 'scopes', 'themes'];

/** @return array<string,string|null> section → hash of this code's config (null for an empty section) */
function gl_config_hashes(): array
{
    $out = [];
    foreach (GL_IMPORTABLE_SECTIONS as $section) {
        $data = gl_config()[$section] ?? [];
        $out[$section] = $data ? sha1(json_encode($data)) : null;
    }
    return $out;
}

/** @return array<string,string> the hashes the last import stored */
function gl_stored_config_hashes(): array
{
    try {
        $raw = gl_q("SELECT flag_data FROM flag WHERE flag_code = 'config_hash'")->fetchColumn();
    } catch (PDOException $e) {
        if (($e->errorInfo[1] ?? 0) === 1146) { // no flag table yet: nothing was ever imported
            return [];
        }
        throw $e;
    }
    return $raw ? (json_decode((string)$raw, true) ?: []) : [];
}

function gl_config_changed(): bool
{
    $stored = gl_stored_config_hashes();
    foreach (gl_config_hashes() as $section => $hash) {
        if ($hash !== ($stored[$section] ?? null)) {
            return true;
        }
    }
    return false;
}

/** app:config:import (setup:upgrade runs it): store this code's hashes. */
function gl_config_import(): void
{
    gl_q("REPLACE INTO flag (flag_code, flag_data, last_update) VALUES ('config_hash', ?, NOW(6))",
        [json_encode(array_filter(gl_config_hashes(), fn($h) => $h !== null))]);
}

function gl_check_config_unchanged(): void
{
    if (gl_blue_green_enabled()) {
        return;
    }
    if (gl_config_changed()) {
        throw new HttpError(500, 'The configuration file has changed. Run the "app:config:import" or the "setup:upgrade" command to synchronize the configuration.');
    }
}

/** What the front controller's plugins check before any controller runs (REST and storefront alike).
 * $cached: the DB status comes from the cache as in Magento (db_is_up_to_date); rehearsals read it fresh. */
function gl_front_checks(bool $cached = true): void
{
    if ($cached) {
        gl_check_db_status();
    } elseif (!gl_blue_green_enabled()) {
        gl_raise_db_status(gl_db_status());
    }
    gl_check_config_unchanged();
}
