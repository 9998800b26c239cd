<?php
// Loads configuration, the release manifest, and lazy DB/Redis connections.
declare(strict_types=1);

const GL_ROOT = __DIR__ . '/..';

final class HttpError extends Exception
{
    public function __construct(public int $status, string $message, public array $parameters = [])
    {
        parent::__construct($message);
    }
}

function gl_config(): array
{
    static $cfg = null;
    if ($cfg === null) {
        $env = require GL_ROOT . '/etc/env.php';
        $rel = require GL_ROOT . '/etc/config.php';
        $cfg = array_replace_recursive($env, $rel);
    }
    return $cfg;
}

function gl_defect(string $name, $default = null)
{
    return gl_config()['defects'][$name] ?? $default;
}

function gl_manifest(): array
{
    static $m = null;
    if ($m === null) {
        $path = GL_ROOT . '/manifest.json';
        $m = is_file($path) ? (json_decode((string)file_get_contents($path), true) ?: []) : [];
        $m += ['release' => 'unknown', 'modules' => [], 'static_version' => 0];
    }
    return $m;
}

// The database name can be overridden for rehearsals (old code against a migrated copy).
$GLOBALS['gl_db_name'] = null;

function gl_db(): PDO
{
    static $pdo = [];
    $c = gl_config()['db'];
    $name = $GLOBALS['gl_db_name'] ?? $c['dbname'];
    if (!isset($pdo[$name])) {
        $pdo[$name] = new PDO(
            "mysql:host={$c['host']};port={$c['port']};dbname={$name};charset=utf8mb4",
            $c['username'], $c['password'],
            [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_TIMEOUT => 2,
             PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC]
        );
    }
    return $pdo[$name];
}

function gl_redis(int $db): Redis
{
    static $r = [];
    if (!isset($r[$db])) {
        $c = gl_config()['redis'];
        $conn = new Redis();
        // Connect as Cm_RedisSession / Credis do: env.php's session redis timeout (Magento's default 2.5 s). A
        // shorter one failed requests on a node only 150 ms slow while the machine was busy deploying.
        $conn->connect($c['host'], $c['port'], (float)(gl_config()['session']['redis']['timeout'] ?? 2.5));
        // A frozen Redis accepts the TCP connection and then never answers: bound every read.
        $conn->setOption(Redis::OPT_READ_TIMEOUT, 2.0);
        $conn->select($db);
        $r[$db] = $conn;
    }
    return $r[$db];
}

function gl_q(string $sql, array $args = []): PDOStatement
{
    $st = gl_db()->prepare($sql);
    $st->execute($args);
    return $st;
}
