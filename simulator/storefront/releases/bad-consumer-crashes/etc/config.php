<?php
// Known-bad release: its order-export consumer fails at start (the handler class its queue config names is
// missing), so once cron runs on the new colour no message is consumed; checkout, cron and health look fine.
return [
    'banner' => 'Winter sale: free gift wrap on every order',
    'defects' => ['consumer_crashes' => true],
];
