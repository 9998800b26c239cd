<?php
// Known-bad release: its env.php was copied from the first install's servers (r1's), with the id_prefix
// setup:install wrote there, so both colours keep their caches under one prefix in the shared Redis.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'cache' => ['id_prefix' => '8d4_'],
];
