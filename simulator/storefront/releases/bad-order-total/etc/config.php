<?php
// Known-bad release: its total collectors run grand_total before shipping, so orders are stored without the shipping the customer was quoted.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['order_total_excludes_shipping' => true],
];
