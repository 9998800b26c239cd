<?php
require __DIR__ . '/../src/http.php';
gl_handle_http();
