<?php
// Known-bad release behind Varnish: env.php without http_cache_hosts, so Magento never purges the shared Varnish.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'http_cache_hosts' => null, // env.php without the key (array_replace_recursive would keep a list)
];
