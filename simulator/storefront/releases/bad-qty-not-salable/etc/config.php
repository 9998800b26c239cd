<?php
// Known-bad release: its stock reservations count every line twice, so adding 2 or more of a product answers 400 "The requested qty is not available" (the smoke checkout adds 1).
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['salable_qty_below' => 2],
];
