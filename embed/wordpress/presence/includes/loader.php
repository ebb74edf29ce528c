<?php
/**
 * How pages get presence.js (and the plugin's own small scripts) without ever waiting for
 * presence-server: no `<script src>` at all, but a tiny inline loader at the end of the
 * page that adds the scripts once the page has fired `load` (when the browser is idle,
 * at most 2 s later). A server that hangs then costs the page nothing: `load` has fired,
 * and nothing on the page waits for the scripts.
 *
 * Whatever the page needs asks for it while the page is built: single posts (the count),
 * blocks, shortcodes, widgets, badges, the admin screens. The loader prints only what was
 * asked for, once, in the footer.
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The scripts this page asked for: handle => array( 'src' => URL, 'attrs' => array ).
 *
 * @param string|null $handle Null to read the list; else the script to add or extend.
 * @param string      $src    Its URL.
 * @param array       $attrs  Attributes for its tag (merged into earlier ones).
 * @return array
 */
function presence_scripts( $handle = null, $src = '', $attrs = array() ) {
	static $scripts = array();
	if ( null !== $handle ) {
		$old                = isset( $scripts[ $handle ] ) ? $scripts[ $handle ]['attrs'] : array();
		$scripts[ $handle ] = array(
			'src'   => $src,
			'attrs' => array_merge( $old, $attrs ),
		);
	}
	return $scripts;
}

/**
 * Asks for presence.js on this page. Its tag carries the texts in the site's language
 * (presence_embed_texts()); on a single post (presence_current_post_id()) also
 * data-post-id, data-presence-idle and data-presence-token; elsewhere it only watches the
 * posts of the page's badges and counts nobody as a reader.
 *
 * Kept from 1.x for themes that call it; `$in_footer` no longer matters (the loader is
 * always at the end of the page).
 *
 * @param bool $in_footer Unused.
 * @return bool False when no server URL is set.
 */
function presence_load_script( $in_footer = true ) {
	unset( $in_footer );
	if ( '' === presence_server_url() ) {
		return false;
	}
	$attrs = presence_embed_texts();
	$id    = presence_current_post_id();
	if ( $id ) {
		$attrs['data-post-id'] = presence_post_key( $id );
		$idle                  = (int) get_option( 'presence_idle_seconds', 0 );
		if ( $idle > 0 ) {
			$attrs['data-presence-idle'] = (string) $idle;
		}
		$token = presence_view_token( $id );
		if ( '' !== $token ) {
			$attrs['data-presence-token'] = $token;
		}
	}
	presence_scripts( 'presence', presence_server_url() . '/presence.js', $attrs );
	return true;
}

/**
 * Asks for the plugin's list script (assets/presence-lists.js): it fills the "Popular
 * now" lists and the dashboard's figures from presence-server's /api/top and /api/stats,
 * and keeps them live with presence.js's socket. Asks for presence.js too.
 *
 * @return bool False when no server URL is set.
 */
function presence_load_lists() {
	if ( ! presence_load_script() ) {
		return false;
	}
	$attrs = array(
		'data-presence-server' => presence_server_url(),
		'data-presence-posts'  => rest_url( 'presence/v1/posts' ),
		'data-presence-prefix' => presence_post_key_prefix(),
	);
	if ( presence_current_post_id() ) {
		$attrs['data-post-id'] = presence_post_key( presence_current_post_id() );
	}
	presence_scripts( 'presence-lists', plugins_url( 'assets/presence-lists.js', PRESENCE_FILE ) . '?ver=' . PRESENCE_VERSION, $attrs );
	return true;
}

/**
 * On single posts, presence.js counts the reader even where no count is shown (the
 * admin column and the popular lists count them).
 */
function presence_front_end() {
	if ( presence_current_post_id() ) {
		presence_load_script();
	}
}
add_action( 'wp', 'presence_front_end' );

/**
 * Prints the inline loader for the scripts this page asked for (front end and admin).
 */
function presence_print_loader() {
	$scripts = array_values( presence_scripts() );
	if ( ! $scripts ) {
		return;
	}
	// Runs after load, when the browser is idle; each script loads on its own (async).
	// < > & ' " escaped in the JSON: no text (a translation with "<!--" or "<script") can
	// change how the HTML parser reads the inline script.
	$js = '(function(w,d,l){function go(){l.forEach(function(c){var s=d.createElement("script"),k;'
		. 's.src=c.src;for(k in c.attrs)s.setAttribute(k,c.attrs[k]);d.body.appendChild(s)})}'
		. 'function idle(){w.requestIdleCallback?w.requestIdleCallback(go,{timeout:2e3}):setTimeout(go,1)}'
		. 'd.readyState=="complete"?idle():w.addEventListener("load",idle)})(window,document,'
		. wp_json_encode( $scripts, JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT ) . ');';
	if ( function_exists( 'wp_print_inline_script_tag' ) ) {
		wp_print_inline_script_tag( $js, array( 'id' => 'presence-loader' ) );
	} else {
		echo '<script id="presence-loader">' . $js . "</script>\n"; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- JSON-encoded data.
	}
}
add_action( 'wp_footer', 'presence_print_loader', 50 );
add_action( 'admin_print_footer_scripts', 'presence_print_loader', 50 );
