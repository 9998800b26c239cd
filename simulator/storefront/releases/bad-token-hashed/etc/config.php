<?php
// Known-bad release: it keeps customer tokens hashed at rest, so tokens issued by the other colour are refused with 401 (and its own by the other colour).
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['token_hashed_at_rest' => true],
];
