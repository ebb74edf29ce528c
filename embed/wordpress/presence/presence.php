<?php
/**
 * Plugin Name:       Presence
 * Description:       Shows readers how many other people are reading the same post right now, live, from a presence-server; lists the posts read right now; can send readers notices.
 * Version:           1.3.0
 * Requires at least: 5.0
 * Requires PHP:      7.2
 * License:           GPL-2.0-or-later
 * Text Domain:       presence
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'PRESENCE_VERSION', '1.3.0' );

/** Default lifetime of a signed view token, in hours. */
define( 'PRESENCE_TOKEN_HOURS', 48 );

require_once __DIR__ . '/includes/class-presence-widget.php';
require_once __DIR__ . '/includes/sign-view.php';
require_once __DIR__ . '/includes/notices.php';
require_once __DIR__ . '/includes/reading-now.php';

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
			'sanitize_callback' => 'presence_sanitize_server_url',
			'default'           => '',
		)
	);
	register_setting(
		'presence',
		'presence_internal_url',
		array(
			'type'              => 'string',
			'sanitize_callback' => 'presence_sanitize_server_url',
			'default'           => '',
		)
	);
	register_setting(
		'presence',
		'presence_idle_seconds',
		array(
			'type'              => 'integer',
			'sanitize_callback' => 'presence_sanitize_idle',
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
			'sanitize_callback' => 'presence_sanitize_token_hours',
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
	echo '<p class="description">' . esc_html__( 'Where presence-server runs. The plugin loads presence.js from there on single posts.', 'presence' ) . '</p>';
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
	echo '<p class="description">' . esc_html__( 'Optional. Where WordPress itself reaches presence-server for the "Reading now" column, the dashboard widget and the popular posts list, e.g. http://127.0.0.1:3000 when both run on one host. Empty: the Server URL above. Browsers always use the Server URL.', 'presence' ) . '</p>';
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
	return presence_sign_view( $post_id, $expiry, $secret );
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
	echo '<p>' . esc_html__( 'Show readers how many other people are reading the same post right now. Place the count with the [presence_viewers] shortcode or the Presence widget; list the posts read right now with [presence_popular] or the Presence: popular right now widget.', 'presence' ) . '</p>';
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
 * Single posts by default; the `presence_enabled` filter can widen or narrow that.
 *
 * @return int
 */
function presence_current_post_id() {
	if ( '' === presence_server_url() || is_admin() ) {
		return 0;
	}
	$id      = (int) get_queried_object_id();
	$enabled = is_singular( 'post' ) && $id > 0;
	/**
	 * Filters whether presence counts readers on this request.
	 *
	 * @param bool $enabled Default: true on single posts.
	 * @param int  $id      The queried object ID.
	 */
	return apply_filters( 'presence_enabled', $enabled, $id ) && $id > 0 ? $id : 0;
}

/**
 * Enqueues presence.js from the server on single posts (in the head: it connects early).
 */
function presence_enqueue_script() {
	if ( presence_current_post_id() ) {
		presence_load_script( false );
	}
}
add_action( 'wp_enqueue_scripts', 'presence_enqueue_script' );

/**
 * Enqueues presence.js (no version query: the server sets cache headers), once per page.
 * Called late, while the page is built (a badge, the popular list), it goes in the footer.
 * On a page that is not a single post its tag has no data-post-id: it only watches the
 * posts of the page's badges and counts nobody as a reader.
 *
 * @param bool $in_footer Where the tag goes.
 * @return bool False when no server URL is set.
 */
function presence_load_script( $in_footer = true ) {
	if ( '' === presence_server_url() ) {
		return false;
	}
	wp_enqueue_script( 'presence', presence_server_url() . '/presence.js', array(), null, $in_footer ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion
	return true;
}

/**
 * Adds async, and on single posts data-post-id, data-presence-idle and data-presence-token,
 * to the presence script tag.
 *
 * @param string $tag    The script tag.
 * @param string $handle Script handle.
 * @return string
 */
function presence_script_tag( $tag, $handle ) {
	if ( 'presence' !== $handle ) {
		return $tag;
	}
	$id    = presence_current_post_id();
	$attrs = '';
	if ( $id ) {
		$attrs = ' data-post-id="' . esc_attr( (string) $id ) . '"';
		$idle  = (int) get_option( 'presence_idle_seconds', 0 );
		if ( $idle > 0 ) {
			$attrs .= ' data-presence-idle="' . esc_attr( (string) $idle ) . '"';
		}
		$token = presence_view_token( $id );
		if ( '' !== $token ) {
			$attrs .= ' data-presence-token="' . esc_attr( $token ) . '"';
		}
	}
	if ( ! preg_match( '/<script[^>]*\sasync[\s=>]/', $tag ) ) {
		$attrs = ' async' . $attrs;
	}
	return preg_replace( '/<script\b/', '<script' . $attrs, $tag, 1 );
}
add_filter( 'script_loader_tag', 'presence_script_tag', 10, 2 );

/**
 * The element presence.js fills: a span with data-presence-viewers or data-presence-views.
 *
 * @param string $kind  'viewers' or 'views'.
 * @param array  $atts  template / one / zero / class.
 * @return string
 */
function presence_element( $kind, $atts ) {
	$html = '<span class="' . esc_attr( trim( 'presence-' . $kind . ' ' . $atts['class'] ) ) . '" data-presence-' . $kind . ' aria-live="polite"';
	foreach ( array( 'template', 'one', 'zero' ) as $name ) {
		if ( '' !== $atts[ $name ] ) {
			$html .= ' data-presence-' . $name . '="' . esc_attr( $atts[ $name ] ) . '"';
		}
	}
	return $html . '>&nbsp;</span>';
}

/**
 * [presence_viewers template="{n} others reading" one="1 other reader" zero="" class=""]
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_viewers_shortcode( $atts ) {
	return presence_count_shortcode( 'viewers', $atts );
}
add_shortcode( 'presence_viewers', 'presence_viewers_shortcode' );

/**
 * [presence_views template="{n} views" one="1 view" class=""]
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_views_shortcode( $atts ) {
	return presence_count_shortcode( 'views', $atts );
}

/**
 * The element both shortcodes place: the same attributes for either count.
 *
 * @param string       $kind 'viewers' or 'views'.
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_count_shortcode( $kind, $atts ) {
	$atts = shortcode_atts(
		array(
			'template' => '',
			'one'      => '',
			'zero'     => '',
			'class'    => '',
		),
		$atts,
		'presence_' . $kind
	);
	return presence_element( $kind, $atts );
}
add_shortcode( 'presence_views', 'presence_views_shortcode' );

/**
 * Registers the widget.
 */
function presence_register_widget() {
	register_widget( 'Presence_Widget' );
}
add_action( 'widgets_init', 'presence_register_widget' );
