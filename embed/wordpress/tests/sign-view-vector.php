<?php
/**
 * Checks presence_sign_view() against the test vector of the signed-views protocol:
 * secret "s3cret", post "13", expiry 1767225600, and presence_sign_notice() against the
 * notice-token vector of presence-core (src/signing.rs: `printf 'notice.13.1767225600' |
 * openssl dgst -sha256 -hmac s3cret`). Plain PHP CLI, no WordPress:
 *
 *     php embed/wordpress/tests/sign-view-vector.php
 *
 * Prints "ok" and exits 0, or prints what differs and exits 1.
 * Not part of the plugin (it lives outside embed/wordpress/presence/).
 *
 * @package Presence
 */

// The plugin's files exit unless loaded by WordPress, which defines ABSPATH.
define( 'ABSPATH', __DIR__ . '/' );
require dirname( __DIR__ ) . '/presence/includes/sign-view.php';

$expected = '1767225600.30f5dc30535984a70220aa8216499f8930438b8c23aaaf355302f2beb6739fd5';
$cases    = array(
	'post "13" (string)'   => presence_sign_view( '13', 1767225600, 's3cret' ),
	'post 13 (int, as WP)' => presence_sign_view( 13, 1767225600, 's3cret' ),
	'expiry "1767225600"'  => presence_sign_view( 13, '1767225600', 's3cret' ),
);
$failed   = 0;
foreach ( $cases as $name => $token ) {
	if ( $token !== $expected ) {
		fwrite( STDERR, "sign-view-vector: $name: got $token, expected $expected\n" );
		++$failed;
	}
}
$notice = '1767225600.8465cf8395fd1fccaf43796b33c8099dfa4c9eb962c6a7fa0a384bb319e28f46';
foreach ( array( 13, '13' ) as $post ) {
	$token = presence_sign_notice( $post, 1767225600, 's3cret' );
	if ( $token !== $notice ) {
		fwrite( STDERR, "sign-view-vector: notice token of post $post: got $token, expected $notice\n" );
		++$failed;
	}
}
if ( $failed ) {
	exit( 1 );
}
echo "ok: presence_sign_view('13', 1767225600, 's3cret') = $expected\n";
echo "ok: presence_sign_notice(13, 1767225600, 's3cret') = $notice\n";
