<?php
// Cron and queue consumers as a Magento 2.4 node runs them: `cron:install` writes the node's crontab line
// (`bin/magento cron:run` every minute; the replica's cron loop runs it every few seconds); each cron:run records
// its jobs in cron_schedule and, with cron_consumers_runner/cron_run, spawns every consumer not yet running
// (`queue:consumers:start`), which keeps running — on the code it started with — until max_messages.
declare(strict_types=1);

const GL_CONSUMERS = ['greenlight.order.export'];

function gl_crontab_path(): string
{
    return getenv('GREENLIGHT_CRONTAB') ?: '/etc/greenlight/crontab';
}

function gl_consumer_pidfile(string $name): string
{
    return (getenv('GREENLIGHT_RUN_DIR') ?: '/run/greenlight') . "/consumer-$name.pid";
}

/** cron:install / cron:remove: the crontab line for this install (Magento writes a #~ MAGENTO block). */
function gl_cron_install(bool $on): int
{
    $path = gl_crontab_path();
    if ($on) {
        @mkdir(dirname($path), 0755, true);
        file_put_contents($path, "#~ MAGENTO START\n* * * * * php /srv/storefront/current/bin/magento cron:run 2>&1\n#~ MAGENTO END\n");
        echo "Crontab has been generated and saved\n";
    } else {
        @unlink($path);
        echo "Magento cron tasks have been removed\n";
    }
    return 0;
}

/** Publish to the MySQL queue (inside the caller's transaction): the message, then its status (2: new) for every
 * queue bound to the topic (Magento\MysqlMq\Model\QueueManagement::addMessageToQueues). */
function gl_publish(string $topic, array $body): void
{
    gl_q('INSERT INTO queue_message (topic_name, body) VALUES (?, ?)', [$topic, json_encode($body)]);
    $id = (int)gl_db()->lastInsertId();
    gl_q('INSERT INTO queue_message_status (queue_id, message_id, status) SELECT id, ?, 2 FROM queue WHERE name = ?',
        [$id, $topic]);
}

function gl_consumer_running(string $name): bool
{
    $pid = (int)@file_get_contents(gl_consumer_pidfile($name));
    return $pid > 0 && posix_kill($pid, 0);
}

function gl_cron_run(): int
{
    // As Magento\Cron\Observer\ProcessCronQueueObserver records a job it ran: no node, no release in the row.
    gl_q("INSERT INTO cron_schedule (job_code, status, messages, created_at, scheduled_at, executed_at, finished_at)
          VALUES ('greenlight_heartbeat', 'success', NULL, NOW(), NOW(), NOW(), NOW())");
    gl_clean_expired_quotes();
    $runner = gl_config()['cron_consumers_runner'] ?? [];
    $spawned = [];
    if (!empty($runner['cron_run'])) {
        foreach (GL_CONSUMERS as $name) {
            if (gl_consumer_running($name)) {
                continue;
            }
            @mkdir(dirname(gl_consumer_pidfile($name)), 0755, true);
            $cmd = sprintf('nohup php %s queue:consumers:start %s --max-messages=%d >/dev/null 2>&1 & echo $!',
                escapeshellarg(GL_ROOT . '/bin/magento'), escapeshellarg($name), (int)($runner['max_messages'] ?? 10000));
            file_put_contents(gl_consumer_pidfile($name), trim((string)shell_exec($cmd)));
            $spawned[] = $name;
        }
    }
    echo 'Ran jobs by schedule.' . ($spawned ? ' Started consumers: ' . implode(', ', $spawned) : '') . "\n";
    return 0;
}

/** The sales_clean_quotes job (Magento/Sales/Cron/CleanExpiredQuotes.php): quotes not updated within
 * checkout/cart/delete_quote_after (days; 30 by default) are deleted. A release that gets the lifetime wrong
 * (`quote_lifetime_s`: seconds instead of days) deletes carts customers are still filling, once its cron runs. */
function gl_clean_expired_quotes(): void
{
    $lifetime = gl_defect('quote_lifetime_s');
    if ($lifetime === null) {
        return;  // Magento schedules it daily (0 0 * * *): with a lifetime of days it deletes nothing within a run
    }
    $lifetime = (int)$lifetime;
    $old = 'is_active = 1 AND COALESCE(updated_at, created_at) < NOW(6) - INTERVAL ? SECOND';
    gl_q("DELETE FROM quote_item WHERE quote_id IN (SELECT entity_id FROM (SELECT entity_id FROM quote WHERE $old) q)",
        [$lifetime]);
    gl_q("DELETE FROM quote WHERE $old", [$lifetime]);
}

/** queue:consumers:start <name>: take messages one by one until max-messages; poll when the queue is empty. */
function gl_consumer_start(string $name, int $max): int
{
    if (!in_array($name, GL_CONSUMERS, true)) {
        fwrite(STDERR, "Consumer \"$name\" does not exist.\n");
        return 1;
    }
    if (gl_defect('consumer_crashes')) {  // a consumer whose handler fails at start: nothing is consumed
        fwrite(STDERR, "Consumer \"$name\": class Greenlight\\Export\\Handler does not exist\n");
        return 1;
    }
    $done = 0;
    while ($done < $max) {
        // Take the oldest new message of this queue and complete it (status 2 -> 4).
        $n = gl_q("UPDATE queue_message_status SET status = 4
                   WHERE status = 2 AND queue_id = (SELECT id FROM queue WHERE name = ?) ORDER BY id LIMIT 1",
            [$name])->rowCount();
        $done += $n;
        if ($n === 0) {
            usleep(1000000);
        }
    }
    return 0;
}
