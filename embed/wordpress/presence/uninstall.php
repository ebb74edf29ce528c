<?php
/**
 * Removes everything the plugin ever wrote when it is deleted (Plugins → Delete): its
 * options, transients, widget options and widgets placed in sidebars, and post meta; on
 * a multisite network on every site, and any network-wide option.
 *
 * "Ever": 1.x also kept API answers in transients (presence_api_<hash>) and the results
 * of sent notices (presence_notice_result_<user>), and post meta _presence_notice_last.
 * Transients and post meta are found by prefix, as their names hold hashes and ids.
 *
 * @package Presence
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

/**
 * The names of the plugin's settings.
 *
 * @return string[]
 */
function presence_uninstall_options() {
	return array(
		'presence_server_url',
		'presence_internal_url',
		'presence_placement',
		'presence_idle_seconds',
		'presence_signing_secret',
		'presence_token_hours',
		'presence_notices_token',
	);
}

/**
 * Removes the plugin's rows from the current site.
 */
function presence_uninstall_site() {
	global $wpdb;

	$options = array_merge( presence_uninstall_options(), array( 'widget_presence_widget', 'widget_presence_popular_widget' ) );
	foreach ( $options as $option ) {
		delete_option( $option );
	}

	// The plugin's widgets in the sidebars: "presence_widget-2", "presence_popular_widget-3".
	$sidebars = get_option( 'sidebars_widgets' );
	if ( is_array( $sidebars ) ) {
		foreach ( $sidebars as $sidebar => $widgets ) {
			if ( is_array( $widgets ) ) {
				$sidebars[ $sidebar ] = array_values( preg_grep( '/^presence_(popular_)?widget-\d+$/', $widgets, PREG_GREP_INVERT ) );
			}
		}
		update_option( 'sidebars_widgets', $sidebars );
	}

	// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- Uninstall: transients found by prefix (their names hold hashes and user ids); each goes through delete_transient().
	$transients = $wpdb->get_col(
		$wpdb->prepare(
			"SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s",
			$wpdb->esc_like( '_transient_presence_' ) . '%'
		)
	);
	foreach ( $transients as $transient ) {
		delete_transient( substr( $transient, strlen( '_transient_' ) ) );
	}
	// Timeouts whose transient is already gone.
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- Uninstall: orphaned transient timeouts by prefix; each goes through delete_option().
	$timeouts = $wpdb->get_col(
		$wpdb->prepare(
			"SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s",
			$wpdb->esc_like( '_transient_timeout_presence_' ) . '%'
		)
	);
	foreach ( $timeouts as $timeout ) {
		delete_option( $timeout );
	}

	foreach ( array( '_presence_notify', '_presence_notice_pending', '_presence_notice_last' ) as $key ) {
		delete_post_meta_by_key( $key );
	}
}

if ( is_multisite() ) {
	foreach ( get_sites(
		array(
			'fields' => 'ids',
			'number' => 0,
		)
	) as $presence_site ) {
		switch_to_blog( $presence_site );
		presence_uninstall_site();
		restore_current_blog();
	}
	// The plugin keeps nothing network-wide; should its settings ever have been stored as
	// network options, they go too: by their exact names, never by prefix (other plugins'
	// "presence_…" network options are theirs).
	foreach ( presence_uninstall_options() as $presence_option ) {
		delete_site_option( $presence_option );
	}
} else {
	presence_uninstall_site();
}
