<?php
// Known-bad release: its guest-cart repository saves the quote from a stale item collection: each item a guest adds silently removes the lines added before it.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['guest_cart_keeps_last_line' => true],
];
