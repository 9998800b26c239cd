<?php
// Sessions as Cm_RedisSession keeps them (Magento's Framework/Session/SaveHandler/Redis): one hash per session,
// `sess_<id>` with fields data, lock, pid, wait, writes, req. A reader takes the lock by HINCRBY lock 1; others
// wait (0.5 s steps), counting themselves in `wait`; more waiters than max_concurrency → 503 (errors/503.php);
// a lock older than break_after_frontend seconds is broken. First write lives first_lifetime seconds.
declare(strict_types=1);

final class GlSessionConcurrency extends RuntimeException
{
}

final class GlRedisSessionHandler implements SessionHandlerInterface
{
    private const WAIT_S = 0.5;
    private bool $locked = false;
    private bool $waiting = false;
    private string $pid;
    private bool $new = true;

    public function __construct(private Redis $redis, private array $cfg)
    {
        $this->pid = gethostname() . '|' . getmypid() . '|' . bin2hex(random_bytes(3));
    }

    private static function key(string $id): string
    {
        return 'sess_' . $id;
    }

    public function open(string $path, string $name): bool
    {
        return true;
    }

    public function read(string $id): string|false
    {
        $key = self::key($id);
        if (!empty($this->cfg['disable_locking'])) {
            return $this->data($key);
        }
        $breakAfter = (float)($this->cfg['break_after_frontend'] ?? 5);
        $maxConcurrency = (int)($this->cfg['max_concurrency'] ?? 6);
        $tries = 0;
        try {
            while (true) {
                $lock = (int)$this->redis->hIncrBy($key, 'lock', 1);
                if ($lock === 1) {
                    break;
                }
                $tries++;
                if ($tries === 1) {
                    $this->waiting = true;
                    $waiters = (int)$this->redis->hIncrBy($key, 'wait', 1);
                    if ($waiters > $maxConcurrency) {
                        throw new GlSessionConcurrency("$waiters requests wait for session lock (max_concurrency $maxConcurrency)");
                    }
                }
                if ($tries * self::WAIT_S >= $breakAfter) { // the holder is stuck: take the lock over
                    $this->redis->hSet($key, 'lock', 1);
                    break;
                }
                usleep((int)(self::WAIT_S * 1e6));
            }
        } finally {
            if ($this->waiting) {
                $this->redis->hIncrBy($key, 'wait', -1);
                $this->waiting = false;
            }
        }
        $this->locked = true;
        $this->redis->hMSet($key, ['pid' => $this->pid, 'req' => $_SERVER['REQUEST_URI'] ?? 'cli']);
        // A lock key left by a crash must not outlive the session: keep the TTL at least first_lifetime.
        if ($this->redis->ttl($key) < 0) {
            $this->redis->expire($key, (int)($this->cfg['first_lifetime'] ?? 600));
        }
        return $this->data($key);
    }

    private function data(string $key): string
    {
        $d = $this->redis->hGet($key, 'data');
        $this->new = ($d === false || $d === null);
        return $d === false || $d === null ? '' : self::decode((string)$d);
    }

    /** Cm_RedisSession marks compressed data with its codec (':gz:', ':lz4:', ...) and decodes what its version
     * knows. A release that upgrades the library to a new codec writes sessions its predecessor cannot read: the
     * old code sees no session (a logged-out customer, an empty cart) once traffic goes back to it. */
    private static function decode(string $d): string
    {
        if (!preg_match('/^:([a-z0-9]{2,4}):/', $d, $m)) {
            return $d;
        }
        $known = (array)gl_defect('session_read_codecs', ['gz']);
        if (!in_array($m[1], $known, true)) {
            return '';
        }
        $plain = @gzuncompress(substr($d, strlen($m[0])));
        return $plain === false ? '' : $plain;
    }

    private static function encode(string $data): string
    {
        $codec = gl_defect('session_write_codec');
        return $codec ? ':' . $codec . ':' . gzcompress($data) : $data;
    }

    public function write(string $id, string $data): bool
    {
        $key = self::key($id);
        // A session id new to this request (session_regenerate_id at log-in) has no lock to hold yet.
        if (!empty($this->cfg['disable_locking']) || $this->holdsLock($key) || !$this->redis->exists($key)) {
            $writes = (int)$this->redis->hIncrBy($key, 'writes', 1);
            $this->redis->hMSet($key, ['data' => self::encode($data), 'lock' => 0]);
            $this->redis->expire($key, $this->lifetime($writes));
            $this->locked = false;
        }
        return true;
    }

    private function holdsLock(string $key): bool
    {
        return $this->locked && $this->redis->hGet($key, 'pid') === $this->pid;
    }

    private function lifetime(int $writes): int
    {
        if (preg_match('/bot|crawl|spider|slurp/i', $_SERVER['HTTP_USER_AGENT'] ?? '')) {
            return (int)($this->cfg['bot_lifetime'] ?? 7200);
        }
        if ($writes <= 1 && $this->new) {
            return (int)($this->cfg['first_lifetime'] ?? 600);
        }
        $life = (int)ini_get('session.gc_maxlifetime') ?: 3600;
        return max((int)($this->cfg['min_lifetime'] ?? 60), min((int)($this->cfg['max_lifetime'] ?? 2592000), $life));
    }

    public function close(): bool
    {
        return true;
    }

    public function destroy(string $id): bool
    {
        $this->redis->del(self::key($id));
        $this->locked = false;
        return true;
    }

    public function gc(int $max_lifetime): int|false
    {
        return 0; // Redis expires sessions itself
    }

    /** Release a lock this request still holds (a request that ended without writing). */
    public function release(string $id): void
    {
        $key = self::key($id);
        if ($this->holdsLock($key)) {
            $this->redis->hSet($key, 'lock', 0);
        }
        $this->locked = false;
    }
}

/** Start the storefront session with the handler env.php names: Cm_RedisSession (Magento's `redis`), PHP's own
 * phpredis handler, or files. */
function gl_session_open(): void
{
    $s = gl_config()['session'];
    $save = $s['save'] ?? 'redis';
    if ($save === 'redis' && ($s['handler'] ?? 'cm') === 'cm') {
        $redis = gl_redis((int)($s['redis']['database'] ?? 2));
        $handler = new GlRedisSessionHandler($redis, $s['redis'] ?? []);
        session_set_save_handler($handler, false);
        $GLOBALS['gl_session_handler'] = $handler;
        register_shutdown_function(function () use ($handler) {
            if (session_status() === PHP_SESSION_ACTIVE) {
                session_write_close();
            }
            $id = session_id();
            if ($id) {
                $handler->release($id);
            }
        });
    } elseif ($save === 'redis') { // phpredis's own handler: PHPREDIS_SESSION:<id> strings, not sess_<id> hashes
        $r = gl_config()['redis'];
        ini_set('session.save_handler', 'redis');
        ini_set('session.save_path', sprintf('tcp://%s:%d?database=%d&timeout=%s', $r['host'], $r['port'],
            (int)($s['redis']['database'] ?? 2), (string)($s['redis']['timeout'] ?? 2.5)));
    } else {
        ini_set('session.save_handler', 'files');
        ini_set('session.save_path', sys_get_temp_dir());
    }
    session_name('PHPSESSID');
    session_set_cookie_params(['lifetime' => 0, 'path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
    session_start();
}
