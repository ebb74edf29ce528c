<?php
/**
 * Translations: the plugin's text domain, `presence`, from its languages/ folder.
 *
 * A copy installed from WordPress.org gets its language packs from
 * wp-content/languages/plugins/ without this (WordPress 4.6 and later load them just in
 * time); a self-hosted copy (the zip from scripts/build-plugin-zip) ships no language pack,
 * so a site owner puts presence-<locale>.mo into the plugin's languages/ folder, and this
 * loads it. languages/presence.pot is the template (scripts/build-pot).
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Loads the text domain from the plugin's languages/ folder ("Domain Path: /languages").
 * A file in wp-content/languages/plugins/ for the same locale wins: WordPress loads that
 * one first.
 */
function presence_load_textdomain() {
	load_plugin_textdomain( 'presence', false, dirname( plugin_basename( PRESENCE_FILE ) ) . '/languages' );
}
add_action( 'init', 'presence_load_textdomain', 0 );

/**
 * The texts presence.js shows, in the site's language, as attributes of its script tag:
 * the defaults of every count on the page (an element's own data-presence-* texts win),
 * and the notice bar's. presence.js keeps English fallbacks only for pages without the
 * plugin.
 *
 * {n} and {total} stay as they are: presence.js puts the numbers in, in the reader's
 * number format. The count texts are for 2 or more readers (alone: "Just you").
 *
 * @return array Attribute name => text.
 */
function presence_embed_texts() {
	$readers = presence_readers_now_texts();
	$popular = presence_popular_texts();
	return array(
		'data-presence-template'       => $readers['several'],
		'data-presence-zero'           => $readers['alone'],
		'data-presence-watch-template' => $popular['template'],
		/* translators: {n} is replaced by the number of times the post was read (2 or more). */
		'data-presence-views-template' => __( '{n} views', 'presence' ),
		'data-presence-views-one'      => __( '1 view', 'presence' ),
		'data-presence-updated'        => __( 'This post was updated.', 'presence' ),
		/* translators: the link of the "This post was updated." bar. */
		'data-presence-reload'         => __( 'Reload', 'presence' ),
		/* translators: the link of a notice that has one. */
		'data-presence-more'           => __( 'More', 'presence' ),
		/* translators: the label of the notice bar's close button. */
		'data-presence-dismiss'        => __( 'Dismiss', 'presence' ),
	);
}
