<?php
// Known-bad release: its shipping estimate calls a carrier rate service synchronously, adding a second to every estimate (still well inside the smoke bound).
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['shipping_estimate_ms' => 1000],
];
