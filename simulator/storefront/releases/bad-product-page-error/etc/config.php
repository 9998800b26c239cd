<?php
// Known-bad release: its product template throws for products with related items (ids above 10) and the error report page goes out with HTTP 200 (the smoke opens product 1).
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['product_page_fails_above_id' => 10],
];
