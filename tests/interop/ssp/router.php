<?php
// Router for `php -S`: serves SimpleSAMLphp's www/ under /simplesaml/ the way a web server
// with an Alias would (SCRIPT_NAME and PATH_INFO set, so module.php and metadata.php work).
$prefix = '/simplesaml';
$www = '/usr/share/simplesamlphp/www';
$uri = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if (strpos($uri, $prefix) !== 0) {
    http_response_code(404);
    echo "not found";
    return true;
}
$path = substr($uri, strlen($prefix));
if ($path === '' || $path === '/') {
    $path = '/index.php';
}
if (preg_match('#^(.*?\.php)(/.*)?$#', $path, $m)) {
    $file = realpath($www . $m[1]);
    if ($file === false || strpos($file, $www) !== 0 || !is_file($file)) {
        http_response_code(404);
        return true;
    }
    $_SERVER['SCRIPT_NAME'] = $prefix . $m[1];
    $_SERVER['SCRIPT_FILENAME'] = $file;
    $_SERVER['PHP_SELF'] = $prefix . $path;
    if (isset($m[2])) {
        $_SERVER['PATH_INFO'] = $m[2];
    } else {
        unset($_SERVER['PATH_INFO']);
    }
    chdir(dirname($file));
    require $file;
    return true;
}
$file = realpath($www . $path);
if ($file !== false && strpos($file, $www) === 0 && is_file($file)) {
    $types = ['css' => 'text/css', 'js' => 'application/javascript', 'png' => 'image/png', 'svg' => 'image/svg+xml', 'ico' => 'image/x-icon'];
    $ext = pathinfo($file, PATHINFO_EXTENSION);
    header('Content-Type: ' . ($types[$ext] ?? 'application/octet-stream'));
    readfile($file);
    return true;
}
http_response_code(404);
return true;
