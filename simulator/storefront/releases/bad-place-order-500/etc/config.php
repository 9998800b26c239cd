<?php
// Known-bad release: place-order answers 500 when a cart line has qty 2 or more (the smoke checkout orders qty 1).
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['place_order_fails_at_qty' => 2],
];
