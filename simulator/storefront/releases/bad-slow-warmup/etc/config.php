<?php
// Known-bad release: its first 20 requests per node after activation take 2.5 s each.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['warmup_slow_requests' => 20],
];
