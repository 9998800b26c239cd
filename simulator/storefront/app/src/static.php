<?php
// setup:static-content:deploy: pub/static/frontend/<Vendor>/<theme>/<locale>/… from the theme sources, and
// pub/static/deployed_version.txt (the number in /static/version<N>/ URLs). Assets carry no release marker, as
// real ones do not: a release's assets are known by their digests (the harness reads them from each node).
declare(strict_types=1);

const GL_THEME_PATH = 'frontend/Greenlight/luma/en_US';

function gl_static_deploy(): int
{
    $m = gl_manifest();
    $src = GL_ROOT . '/static-src';
    $dest = GL_ROOT . '/pub/static/' . GL_THEME_PATH;
    $n = 0;
    $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($src, FilesystemIterator::SKIP_DOTS));
    foreach ($it as $f) {
        $rel = substr($f->getPathname(), strlen($src) + 1);
        @mkdir(dirname("$dest/$rel"), 0755, true);
        copy($f->getPathname(), "$dest/$rel");
        $n++;
    }
    file_put_contents(GL_ROOT . '/pub/static/deployed_version.txt', (string)$m['static_version']);
    echo "Deployed $n static file(s), version {$m['static_version']}.\n";
    return 0;
}

/** The assets every page links (theme-relative paths). */
function gl_page_assets(): array
{
    return gl_config()['page_assets'] ?? ['css/styles.css', 'js/app.js'];
}
