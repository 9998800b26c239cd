<?php
// The framework parts a Magento 2.4 node runs besides the shop's own code.
declare(strict_types=1);

require_once __DIR__ . '/session.php';
require_once __DIR__ . '/jwt.php';
require_once __DIR__ . '/confighash.php';
require_once __DIR__ . '/pagecache.php';
require_once __DIR__ . '/static.php';
require_once __DIR__ . '/cron.php';
