<?php
// Known-bad release: it reuses r1's static version number, so its pages ask for version URLs that already hold r1's files.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
];
