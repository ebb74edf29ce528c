<?php
/**
 * The rewrite rules of WordPress's .htaccess, for `php -S`: a file or directory that
 * exists is served as it is (a .php file runs); any other path goes to index.php, so
 * pretty permalinks work.
 */
$presence_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( '/' !== $presence_path && file_exists( $_SERVER['DOCUMENT_ROOT'] . urldecode( $presence_path ) ) ) {
	return false;
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
chdir( $_SERVER['DOCUMENT_ROOT'] );
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
