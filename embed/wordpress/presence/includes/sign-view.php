<?php
/**
 * Signed views (the token presence-server checks when security.require_signed_views is on)
 * and notice tokens (what an editor's browser sends a notice with).
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

/**
 * A short-lived notice token for one post, which an editor's browser sends to
 * presence-server as `Authorization: Bearer <token>` instead of the notices token itself:
 * "<expiry>.<lowercase hex HMAC-SHA256($notices_token, "notice.<post_id>.<expiry>")>"
 * (docs/notices.md). The server refuses it after $expiry, and when $expiry is more than an
 * hour ahead.
 *
 * @param int|string $post_id       The post whose readers get the notice.
 * @param int        $expiry        Unix time (seconds) after which the server refuses it.
 * @param string     $notices_token The server's notices.token.
 * @return string
 */
function presence_sign_notice( $post_id, $expiry, $notices_token ) {
	$expiry = (int) $expiry;
	return $expiry . '.' . hash_hmac( 'sha256', 'notice.' . $post_id . '.' . $expiry, (string) $notices_token );
}
