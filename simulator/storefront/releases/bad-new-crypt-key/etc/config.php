<?php
// Known-bad release: its env.php holds a new crypt key (fresh setup:install), so customer tokens from one colour are 401 on the other.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
    'crypt' => ['key' => 'base64bmV3LWRyb3BsZXQtZnJlc2gtc2V0dXAtaW5zdGFsbC1rZXk='],
];
