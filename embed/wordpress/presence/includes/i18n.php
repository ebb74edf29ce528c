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
 * The plural forms of a count text, for languages whose words change with the number
 * (Polish "2 osoby czytają", "5 osób czyta"): one translation per CLDR plural category,
 * which presence.js and the list script pick with Intl.PluralRules for the page's
 * language. Only the categories a translation gives: elsewhere the general text applies.
 *
 * @param string $which 'several' ("{total} people reading") or 'reading' ("{total} reading").
 * @return array Category => text, e.g. array( 'few' => '{total} osoby czytają' ).
 */
function presence_plural_forms( $which ) {
	if ( 'several' === $which ) {
		$source = '{total} people reading';
		$forms  = array(
			/* translators: "{total} people reading" for numbers of the CLDR plural category "zero" of your language (e.g. 10–20 in Latvian). Leave it untranslated if your language has no such category: the general translation is used. */
			'zero' => _x( '{total} people reading', 'plural category zero', 'presence' ),
			/* translators: "{total} people reading" for numbers of the CLDR plural category "one" of your language other than 1 (e.g. 21, 31 in Russian). Leave it untranslated if your language has no such category. */
			'one'  => _x( '{total} people reading', 'plural category one', 'presence' ),
			/* translators: "{total} people reading" for numbers of the CLDR plural category "two" of your language (e.g. 2 in Arabic, Hebrew, Slovenian). Leave it untranslated if your language has no such category. */
			'two'  => _x( '{total} people reading', 'plural category two', 'presence' ),
			/* translators: "{total} people reading" for numbers of the CLDR plural category "few" of your language (e.g. 2–4 in Polish, Czech, Russian). Leave it untranslated if your language has no such category. */
			'few'  => _x( '{total} people reading', 'plural category few', 'presence' ),
			/* translators: "{total} people reading" for numbers of the CLDR plural category "many" of your language (e.g. 5–20 in Polish, Russian). Leave it untranslated if your language has no such category. */
			'many' => _x( '{total} people reading', 'plural category many', 'presence' ),
		);
	} else {
		$source = '{total} reading';
		$forms  = array(
			/* translators: "{total} reading" (the readers of a post in a list) for numbers of the CLDR plural category "zero" of your language. Leave it untranslated if your language has no such category. */
			'zero' => _x( '{total} reading', 'plural category zero', 'presence' ),
			/* translators: "{total} reading" for numbers of the CLDR plural category "one" of your language (1, and e.g. 21 in Russian). Leave it untranslated if your language has no such category. */
			'one'  => _x( '{total} reading', 'plural category one', 'presence' ),
			/* translators: "{total} reading" for numbers of the CLDR plural category "two" of your language. Leave it untranslated if your language has no such category. */
			'two'  => _x( '{total} reading', 'plural category two', 'presence' ),
			/* translators: "{total} reading" for numbers of the CLDR plural category "few" of your language (e.g. 2–4 in Polish). Leave it untranslated if your language has no such category. */
			'few'  => _x( '{total} reading', 'plural category few', 'presence' ),
			/* translators: "{total} reading" for numbers of the CLDR plural category "many" of your language (e.g. 5–20 in Polish). Leave it untranslated if your language has no such category. */
			'many' => _x( '{total} reading', 'plural category many', 'presence' ),
		);
	}
	$out = array();
	foreach ( $forms as $category => $text ) {
		if ( $source !== $text ) {
			$out[ $category ] = $text;
		}
	}
	return $out;
}

/**
 * The attributes of a count element for the plural forms of $which (see
 * presence_plural_forms()), as HTML: ' data-presence-template-few="…"'…
 *
 * @param string $which 'several' or 'reading'.
 * @return string
 */
function presence_plural_attrs( $which ) {
	$html = '';
	foreach ( presence_plural_forms( $which ) as $category => $text ) {
		$html .= ' data-presence-template-' . $category . '="' . esc_attr( $text ) . '"';
	}
	return $html;
}

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
