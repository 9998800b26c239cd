<?php
// Known-bad release: it bumps Greenlight_Checkout to 1.1.0 while the live release runs without deployment.blue_green.enabled.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
];
