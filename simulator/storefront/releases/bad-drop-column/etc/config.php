<?php
// Known-bad release: its migration drops quote_item.name, which the live release reads during checkout.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['quote_item_has_name' => false],
];
