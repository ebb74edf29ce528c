<?php
/**
 * The plugin's suggested text for the site's privacy policy (Settings → Privacy → the
 * policy guide), through wp_add_privacy_policy_content(). readme.txt's "External
 * services" section says the same for WordPress.org.
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The suggested privacy policy text, as HTML.
 *
 * @return string
 */
function presence_privacy_policy_text() {
	$tutorial  = __( 'This plugin connects your readers\' browsers to your presence-server. Say below where it runs (who operates it, in which country) and how long its logs are kept.', 'presence' );
	$suggested = array(
		__( 'When you read a post, your browser connects to our presence service, which counts how many people read each post right now and shows that number to the readers of the post. Through this connection the service receives the ID of the post you read, your IP address, your browser\'s user agent and the address of the page.', 'presence' ),
		__( 'The service keeps a random ID for your connection and the post you read only while the page is open; afterwards it keeps only per-post counts, not who read what. It sets no cookie and stores nothing in your browser. Its logs hold an IP address only when it refuses a connection for exceeding a limit.', 'presence' ),
	);
	return '<p class="privacy-policy-tutorial">' . esc_html( $tutorial ) . '</p>'
		. '<p><strong class="privacy-policy-tutorial">' . esc_html__( 'Suggested text:', 'presence' ) . ' </strong>'
		. implode( '</p><p>', array_map( 'esc_html', $suggested ) ) . '</p>';
}

/**
 * Adds the text to the privacy policy guide (WordPress 4.9.6 and later).
 */
function presence_add_privacy_policy_content() {
	if ( function_exists( 'wp_add_privacy_policy_content' ) ) {
		wp_add_privacy_policy_content( __( 'Presence', 'presence' ), wp_kses_post( presence_privacy_policy_text() ) );
	}
}
add_action( 'admin_init', 'presence_add_privacy_policy_content' );
