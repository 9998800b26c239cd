<?php
// Known-bad release: its cache shares the Redis database that holds sessions and its deploy runs cache:flush.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'cache' => ['redis_db' => 2],
];
