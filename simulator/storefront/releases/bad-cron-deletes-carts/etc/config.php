<?php
// Known-bad release: its quote-cleaning cron job (sales_clean_quotes) reads checkout/cart/delete_quote_after in
// seconds, not days: once cron runs on the new colour it deletes the carts customers are still filling.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['quote_lifetime_s' => 5],
];
