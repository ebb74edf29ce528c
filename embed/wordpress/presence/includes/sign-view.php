<?php
/**
 * Signed views: the token presence-server checks when security.require_signed_views is on.
 * No WordPress functions here, so tests/sign-view-vector.php can load this file with plain PHP.
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The token for a view of $post_id that is valid until $expiry:
 * "<expiry>.<lowercase hex HMAC-SHA256($secret, "<post_id>.<expiry>")>".
 *
 * @param int|string $post_id The post ID, exactly as the page sends it in data-post-id.
 * @param int        $expiry  Unix time (seconds) after which the server refuses the token.
 * @param string     $secret  The signing secret shared with presence-server.
 * @return string
 */
function presence_sign_view( $post_id, $expiry, $secret ) {
	$expiry = (int) $expiry;
	return $expiry . '.' . hash_hmac( 'sha256', $post_id . '.' . $expiry, (string) $secret );
}
