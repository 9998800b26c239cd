<?php
// /healthz: no auth, checks the DB and Redis with short timeouts; 200 or 503 JSON naming the failing part.
declare(strict_types=1);

function gl_health(): array
{
    $out = ['status' => 'ok', 'release' => gl_manifest()['release'], 'node' => gl_config()['node']];
    if (gl_defect('healthz_static')) { // claims health without looking
        return [200, $out + ['db' => 'ok', 'redis' => 'ok']];
    }
    if (is_file(GL_ROOT . '/var/.maintenance.flag')) {
        return [503, $out + ['status' => 'maintenance']];
    }
    try {
        gl_db()->query('SELECT 1');
        $out['db'] = 'ok';
    } catch (Throwable $e) {
        $out['db'] = 'down';
    }
    try {
        $out['redis'] = gl_redis(2)->ping() ? 'ok' : 'down';
    } catch (Throwable $e) {
        $out['redis'] = 'down';
    }
    $failed = array_keys(array_filter(['db' => $out['db'], 'redis' => $out['redis']], fn($v) => $v !== 'ok'));
    if ($failed) {
        $out['status'] = 'unavailable';
        $out['failing'] = $failed;
        return [503, $out];
    }
    return [200, $out];
}
