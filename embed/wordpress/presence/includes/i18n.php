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
