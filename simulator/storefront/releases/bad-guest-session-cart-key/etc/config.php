<?php
// Known-bad release: the store moves to a new website id, so Magento's checkout session looks for the cart under
// another key (quote_id_<website id>): the carts of guests' sessions written by the old colour are not found.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['website_id' => 2],
];
