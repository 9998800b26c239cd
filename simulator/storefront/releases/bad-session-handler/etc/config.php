<?php
// Known-bad release: its session handler (phpredis's own) cannot read the live colour's Cm_RedisSession sessions.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'session' => ['save' => 'redis', 'handler' => 'phpredis'],
];
