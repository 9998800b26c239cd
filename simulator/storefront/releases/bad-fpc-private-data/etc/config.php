<?php
// Known-bad release: its header greets the customer by name in cacheable pages, so the full-page cache serves it to other customers.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['greeting_in_cached_pages' => true],
];
