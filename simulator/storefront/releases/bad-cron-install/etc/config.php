<?php
// Known-bad release: its deploy runs cron:install on the idle colour, so both colours run cron and consumers.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
];
