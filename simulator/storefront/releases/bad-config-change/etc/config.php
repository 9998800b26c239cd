<?php
// Known-bad release: it changes the importable configuration (config.php system section) while the live colour runs without deployment.blue_green.enabled.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'system' => ['default' => ['checkout' => ['options' => ['enable_agreements' => '1']]]],
];
