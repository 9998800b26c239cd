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
        // A frozen MariaDB accepts TCP but sends no greeting; PDO would wait for its read timeout. Look first.
        if (!gl_tcp_greets(gl_config()['db']['host'], gl_config()['db']['port'])) {
            throw new RuntimeException('no greeting');
        }
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

/** Does a server that speaks first (MySQL's greeting) say something within $timeout seconds? */
function gl_tcp_greets(string $host, int $port, float $timeout = 1.0): bool
{
    $fh = @fsockopen($host, $port, $errno, $errstr, $timeout);
    if (!$fh) {
        return false;
    }
    stream_set_timeout($fh, 0, (int)($timeout * 1e6));
    $got = fread($fh, 4);
    fclose($fh);
    return $got !== false && strlen($got) === 4;
}
