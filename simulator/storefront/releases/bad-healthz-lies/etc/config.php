<?php
// Known-bad release: /healthz answers 200 without checking anything while add-to-cart fails on a table its migrations never create.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['healthz_static' => true, 'requires_table' => 'quote_gift_wrap'],
];
