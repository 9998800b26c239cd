<?php
// Known-bad release: PHP sessions are kept in local files on each node instead of the shared Redis.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'session' => ['save' => 'files'],
];
