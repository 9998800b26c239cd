<?php
// Known-bad release: a newer session library that compresses with a codec the live release's library does not
// know. Upgrade-safe (it reads the old sessions), downgrade-unsafe: the old colour cannot read what it writes.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['session_write_codec' => 'zs', 'session_read_codecs' => ['gz', 'zs']],
];
