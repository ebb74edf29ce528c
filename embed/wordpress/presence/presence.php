<?php
/**
 * Plugin Name:       Presence
 * Description:       Shows readers how many other people are reading the same post right now, live, from a presence-server; lists the posts read right now; can send readers notices.
 * Version:           2.0.0
 * Requires at least: 5.0
 * Requires PHP:      7.2
 * License:           GPL-2.0-or-later
 * Text Domain:       presence
 * Domain Path:       /languages
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'PRESENCE_VERSION', '2.0.0' );

/** The plugin's main file, for plugins_url(). */
define( 'PRESENCE_FILE', __FILE__ );

/** Default lifetime of a signed view token, in hours. */
define( 'PRESENCE_TOKEN_HOURS', 48 );

require_once __DIR__ . '/includes/class-presence-widget.php';
require_once __DIR__ . '/includes/class-presence-popular-widget.php';
require_once __DIR__ . '/includes/sign-view.php';
require_once __DIR__ . '/includes/loader.php';
require_once __DIR__ . '/includes/blocks.php';
require_once __DIR__ . '/includes/notices.php';
require_once __DIR__ . '/includes/reading-now.php';
require_once __DIR__ . '/includes/i18n.php';
require_once __DIR__ . '/includes/privacy.php';
require_once __DIR__ . '/includes/settings-validation.php';

/**
 * The presence-server base URL without a trailing slash, or '' when not configured.
 *
 * @return string
 */
function presence_server_url() {
	$url = (string) get_option( 'presence_server_url', '' );
	return untrailingslashit( $url );
}

/**
 * Sanitizes the server URL setting: an http(s) URL, no trailing slash, or ''.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function presence_sanitize_server_url( $value ) {
	$url = esc_url_raw( trim( (string) $value ), array( 'https', 'http' ) );
	return untrailingslashit( $url );
}

/**
 * Sanitizes the "reading now" idle setting: whole seconds, 0 = off.
 *
 * @param mixed $value Submitted value.
 * @return int
 */
function presence_sanitize_idle( $value ) {
	return min( absint( $value ), 86400 );
}

/**
 * Sanitizes the signing secret. The form sends array( 'value' => …, 'clear' => '1' ):
 * an empty value keeps the stored secret (the field never shows it), 'clear' removes it.
 * A plain string (update_option, WP-CLI) is stored as given, trimmed.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function presence_sanitize_signing_secret( $value ) {
	if ( ! is_array( $value ) ) {
		return trim( (string) $value );
	}
	if ( ! empty( $value['clear'] ) ) {
		return '';
	}
	$secret = isset( $value['value'] ) ? trim( (string) $value['value'] ) : '';
	return '' !== $secret ? $secret : (string) get_option( 'presence_signing_secret', '' );
}

/** Where the "Readers now" count goes by itself: under the title, after the content, or nowhere. */
define( 'PRESENCE_PLACEMENTS', 'title,content,none' );

/**
 * Sanitizes the placement setting: title (default), content or none.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function presence_sanitize_placement( $value ) {
	$value = is_string( $value ) ? $value : '';
	return in_array( $value, explode( ',', PRESENCE_PLACEMENTS ), true ) ? $value : 'title';
}

/**
 * Where the "Readers now" count is placed by itself: 'title', 'content' or 'none'.
 *
 * @return string
 */
function presence_placement() {
	return presence_sanitize_placement( get_option( 'presence_placement', 'title' ) );
}

/**
 * Sanitizes the token lifetime: whole hours up to 8760 (a year); 0 or nonsense = the default.
 *
 * @param mixed $value Submitted value.
 * @return int
 */
function presence_sanitize_token_hours( $value ) {
	$hours = absint( $value );
	return $hours ? min( $hours, 8760 ) : PRESENCE_TOKEN_HOURS;
}

/**
 * Registers the settings (Settings → Presence).
 */
function presence_register_settings() {
	register_setting(
		'presence',
		'presence_server_url',
		array(
			'type'              => 'string',
			'sanitize_callback' => 'presence_validate_server_url',
			'default'           => '',
		)
	);
	register_setting(
		'presence',
		'presence_internal_url',
		array(
			'type'              => 'string',
			'sanitize_callback' => 'presence_validate_internal_url',
			'default'           => '',
		)
	);
	register_setting(
		'presence',
		'presence_placement',
		array(
			'type'              => 'string',
			'sanitize_callback' => 'presence_sanitize_placement',
			'default'           => 'title',
		)
	);
	register_setting(
		'presence',
		'presence_idle_seconds',
		array(
			'type'              => 'integer',
			'sanitize_callback' => 'presence_validate_idle',
			'default'           => 0,
		)
	);
	register_setting(
		'presence',
		'presence_signing_secret',
		array(
			'type'              => 'string',
			'sanitize_callback' => 'presence_sanitize_signing_secret',
			'default'           => '',
			'show_in_rest'      => false,
		)
	);
	register_setting(
		'presence',
		'presence_token_hours',
		array(
			'type'              => 'integer',
			'sanitize_callback' => 'presence_validate_token_hours',
			'default'           => PRESENCE_TOKEN_HOURS,
		)
	);

	add_settings_section( 'presence_main', '', '__return_false', 'presence' );
	add_settings_field(
		'presence_server_url',
		__( 'Server URL', 'presence' ),
		'presence_field_server_url',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_server_url' )
	);
	add_settings_field(
		'presence_placement',
		__( 'Show the count', 'presence' ),
		'presence_field_placement',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_placement' )
	);
	add_settings_field(
		'presence_internal_url',
		__( 'Server URL for WordPress', 'presence' ),
		'presence_field_internal_url',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_internal_url' )
	);
	add_settings_field(
		'presence_idle_seconds',
		__( 'Stop counting hidden tabs after', 'presence' ),
		'presence_field_idle',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_idle_seconds' )
	);
	add_settings_field(
		'presence_signing_secret',
		__( 'Signing secret', 'presence' ),
		'presence_field_signing_secret',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_signing_secret' )
	);
	add_settings_field(
		'presence_token_hours',
		__( 'Token lifetime (hours)', 'presence' ),
		'presence_field_token_hours',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_token_hours' )
	);
}
add_action( 'admin_init', 'presence_register_settings' );

/**
 * Renders the server URL field.
 */
function presence_field_server_url() {
	printf(
		'<input type="url" class="regular-text code" id="presence_server_url" name="presence_server_url" value="%s" placeholder="https://presence.example.com">',
		esc_attr( presence_server_url() )
	);
	echo '<p class="description">' . esc_html__( 'Where presence-server runs, as browsers reach it. Pages load presence.js from there after they have loaded.', 'presence' ) . '</p>';
}

/**
 * Renders the placement field.
 */
function presence_field_placement() {
	$choices = array(
		'title'   => __( 'Under the post title', 'presence' ),
		'content' => __( 'After the post content', 'presence' ),
		'none'    => __( 'Nowhere by itself (place the "Readers now" block, the shortcode or the widget)', 'presence' ),
	);
	echo '<select id="presence_placement" name="presence_placement">';
	foreach ( $choices as $value => $label ) {
		printf( '<option value="%s"%s>%s</option>', esc_attr( $value ), selected( presence_placement(), $value, false ), esc_html( $label ) );
	}
	echo '</select>';
	echo '<p class="description">' . esc_html__( 'Where single posts show how many people read them now. Block themes on WordPress 6.4 and later get the "Readers now" block after the Post Title (or Post Content) block, which you can move or remove in the Site Editor; other themes get it at the start (or end) of the post content. Shown once per page: a "Readers now" block, shortcode or widget placed by hand takes its place.', 'presence' ) . '</p>';
}

/**
 * Renders the internal server URL field.
 */
function presence_field_internal_url() {
	printf(
		'<input type="url" class="regular-text code" id="presence_internal_url" name="presence_internal_url" value="%s" placeholder="%s">',
		esc_attr( untrailingslashit( (string) get_option( 'presence_internal_url', '' ) ) ),
		esc_attr( '' !== presence_server_url() ? presence_server_url() : 'http://127.0.0.1:3000' )
	);
	echo '<p class="description">' . esc_html__( 'Optional, for add-ons (presence_internal_url()): where WordPress itself would reach presence-server, e.g. http://127.0.0.1:3000 when both run on one host. The plugin itself never contacts presence-server from WordPress: every count, list and notice goes between the browser and the Server URL above.', 'presence' ) . '</p>';
}

/**
 * Renders the idle field.
 */
function presence_field_idle() {
	printf(
		'<input type="number" min="0" max="86400" step="1" class="small-text" id="presence_idle_seconds" name="presence_idle_seconds" value="%s"> %s',
		esc_attr( (string) get_option( 'presence_idle_seconds', 0 ) ),
		esc_html__( 'seconds', 'presence' )
	);
	echo '<p class="description">' . esc_html__( 'A reader whose tab stays hidden this long stops being counted until they come back. 0 = count every open tab.', 'presence' ) . '</p>';
}

/**
 * The signing secret, or '' when views are not signed.
 *
 * @return string
 */
function presence_signing_secret() {
	return (string) get_option( 'presence_signing_secret', '' );
}

/**
 * Renders the signing secret field: a password input that is always empty (the secret is
 * never printed into the page), saying whether a secret is set.
 */
function presence_field_signing_secret() {
	$set = '' !== presence_signing_secret();
	printf(
		'<input type="password" class="regular-text code" id="presence_signing_secret" name="presence_signing_secret[value]" value="" autocomplete="new-password" spellcheck="false" placeholder="%s">',
		esc_attr( $set ? __( '(set — leave empty to keep it)', 'presence' ) : __( '(not set)', 'presence' ) )
	);
	if ( $set ) {
		echo ' <label><input type="checkbox" name="presence_signing_secret[clear]" value="1"> ' . esc_html__( 'Remove the secret', 'presence' ) . '</label>';
	}
	echo '<p class="description">' . ( $set
		? esc_html__( 'A secret is set: every page signs its view. Enter a new one to replace it.', 'presence' )
		: esc_html__( 'No secret is set: views are not signed.', 'presence' ) ) . ' '
		. esc_html__( 'Use the same secret as presence-server. With a secret, the script tag carries a token signed for its post and valid for the lifetime below; a server with require_signed_views refuses views without one.', 'presence' ) . '</p>';
}

/**
 * Renders the token lifetime field.
 */
function presence_field_token_hours() {
	printf(
		'<input type="number" min="1" max="8760" step="1" class="small-text" id="presence_token_hours" name="presence_token_hours" value="%s"> %s',
		esc_attr( (string) presence_token_hours() ),
		esc_html__( 'hours', 'presence' )
	);
	echo '<p class="description">' . esc_html__( 'How long the token in a page stays valid. Pages are often cached (page cache plugins, CDNs), and a cached page keeps the token it was built with, so this must exceed the longest time a page may be cached: once its token expires, a cached page counts no one until it is rebuilt. Default 48.', 'presence' ) . '</p>';
}

/**
 * The token lifetime in hours (1 to 8760).
 *
 * @return int
 */
function presence_token_hours() {
	return presence_sanitize_token_hours( get_option( 'presence_token_hours', PRESENCE_TOKEN_HOURS ) );
}

/**
 * The data-presence-token for a post, or '' when no signing secret is set. The expiry is
 * rounded up to a full hour, so every page built within the same hour carries the same token.
 *
 * @param int $post_id The post ID.
 * @return string
 */
function presence_view_token( $post_id ) {
	$secret = presence_signing_secret();
	if ( '' === $secret ) {
		return '';
	}
	$expiry = ( intdiv( time(), HOUR_IN_SECONDS ) + 1 + presence_token_hours() ) * HOUR_IN_SECONDS;
	return presence_sign_view( presence_post_key( $post_id ), $expiry, $secret );
}

/**
 * Adds Settings → Presence.
 */
function presence_admin_menu() {
	add_options_page(
		__( 'Presence', 'presence' ),
		__( 'Presence', 'presence' ),
		'manage_options',
		'presence',
		'presence_render_settings_page'
	);
}
add_action( 'admin_menu', 'presence_admin_menu' );

/**
 * Renders the settings page.
 */
function presence_render_settings_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	echo '<div class="wrap"><h1>' . esc_html( get_admin_page_title() ) . '</h1>';
	echo '<p>' . esc_html__( 'Show readers how many people are reading the same post right now. The count appears on single posts by itself (see "Show the count"); the "Readers now" and "Popular now" blocks, the [presence_viewers] and [presence_popular] shortcodes and the widgets place it and the posts read right now anywhere else.', 'presence' ) . '</p>';
	echo '<form action="' . esc_url( admin_url( 'options.php' ) ) . '" method="post">';
	settings_fields( 'presence' );
	do_settings_sections( 'presence' );
	submit_button();
	echo '</form></div>';
}

/**
 * Adds a Settings link on the Plugins screen.
 *
 * @param array $links Action links.
 * @return array
 */
function presence_action_links( $links ) {
	$url = admin_url( 'options-general.php?page=presence' );
	array_unshift( $links, '<a href="' . esc_url( $url ) . '">' . esc_html__( 'Settings', 'presence' ) . '</a>' );
	return $links;
}
add_filter( 'plugin_action_links_' . plugin_basename( __FILE__ ), 'presence_action_links' );

/**
 * The post ID to count on this request, or 0 when the script should not load.
 * Published single posts by default (not previews, drafts or private posts, whose ids
 * would otherwise reach presence-server's lists and get signed tokens); the
 * `presence_enabled` filter can widen or narrow that.
 *
 * @return int
 */
function presence_current_post_id() {
	if ( '' === presence_server_url() || is_admin() ) {
		return 0;
	}
	$id      = (int) get_queried_object_id();
	$enabled = is_singular( 'post' ) && $id > 0 && ! is_preview() && 'publish' === get_post_status( $id );
	/**
	 * Filters whether presence counts readers on this request.
	 *
	 * @param bool $enabled Default: true on published single posts, not previews.
	 * @param int  $id      The queried object ID.
	 */
	return apply_filters( 'presence_enabled', $enabled, $id ) && $id > 0 ? $id : 0;
}

/**
 * What goes before a post's ID in the key presence-server counts it under: on a multisite
 * network "<blog_id>-", so that the sites of a network (which share one presence-server,
 * and whose post IDs overlap) never count each other's readers; on a single site nothing,
 * so existing sites keep their keys. presence-server takes keys of 1–64 of A–Z a–z 0–9 _ -.
 *
 * @return string
 */
function presence_post_key_prefix() {
	$prefix = is_multisite() ? get_current_blog_id() . '-' : '';
	/**
	 * Filters the prefix of this site's post keys on presence-server, e.g. "blog-a-" for two
	 * single sites sharing one server. Letters, digits, _ and - only, at most 40.
	 *
	 * @param string $prefix Default "<blog_id>-" on multisite, "" on a single site.
	 */
	$prefix = (string) apply_filters( 'presence_post_key_prefix', $prefix );
	return substr( (string) preg_replace( '/[^A-Za-z0-9_-]/', '', $prefix ), 0, 40 );
}

/**
 * The key presence-server counts a post under: its ID, after presence_post_key_prefix().
 * Pages send it as data-post-id; view and notice tokens are signed for it.
 *
 * @param int $post_id The post ID.
 * @return string
 */
function presence_post_key( $post_id ) {
	return presence_post_key_prefix() . (int) $post_id;
}

/**
 * Registers the widgets.
 */
function presence_register_widget() {
	register_widget( 'Presence_Widget' );
	register_widget( 'Presence_Popular_Widget' );
}
add_action( 'widgets_init', 'presence_register_widget' );
