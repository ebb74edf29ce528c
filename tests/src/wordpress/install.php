<?php
/**
 * Installs WordPress without the browser: what wp-admin/install.php does on its form's
 * POST. Run as `php install.php <site root> <admin password>`, before the web server
 * starts (so the install's own permalink probe finds nothing and leaves plain links).
 */
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/wp-admin/install.php';
require rtrim( $argv[1], '/' ) . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if ( is_blog_installed() ) {
	fwrite( STDERR, "already installed\n" );
	exit( 1 );
}
$result = wp_install( 'Presence test site', 'admin', 'admin@example.com', true, '', $argv[2] );
echo wp_json_encode( array( 'user_id' => $result['user_id'], 'version' => $GLOBALS['wp_version'] ) ), "\n";
