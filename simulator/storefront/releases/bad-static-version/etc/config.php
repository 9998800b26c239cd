<?php
// Known-bad release: it changes css/styles.css but reuses r1's static version number.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
];
