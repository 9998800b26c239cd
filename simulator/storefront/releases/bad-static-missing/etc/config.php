<?php
// Known-bad release: its layout links js/gift-wrap.js, which static content deploy never produces.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'page_assets' => ['css/styles.css', 'js/app.js', 'js/gift-wrap.js'],
];
