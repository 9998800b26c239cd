<?php
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => [],
];
