<?php
// Known-bad release: its migration rebuilds the checkout tables under a write lock held for 10 s, freezing the live colour's checkout during the deploy.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
];
