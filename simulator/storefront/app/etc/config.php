<?php
// Release-level configuration (Magento's app/etc/config.php ships with the code). Overrides env.php keys
// it names; `defects` lets the known-bad releases break exactly one thing each.
return [
    'banner' => '',
    'defects' => [],
];
