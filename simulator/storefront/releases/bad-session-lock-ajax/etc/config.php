<?php
// Known-bad release: a theme that reloads each private-content section on its own (10 requests per page, fired at
// once) and a loyalty-points section that calls a slow ERP while the session lock is held.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['section_load_slow_ms' => 500],
    'section_reloads' => [['cart'], ['customer'], ['wishlist'], ['compare-products'], ['messages'],
                          ['last-ordered-items'], ['recently_viewed_product'], ['recently_compared_product'],
                          ['review'], ['loyalty']],
];
