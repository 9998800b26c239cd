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
    'session' => ['save' => 'redis', 'redis' => ['database' => 2, 'timeout' => 2.5]],
    'cache' => ['redis_db' => 0],
    'deployment' => ['blue_green' => ['enabled' => false]],
    'node' => getenv('GREENLIGHT_NODE') ?: gethostname(),
    'colour' => getenv('GREENLIGHT_COLOUR') ?: '',
];
