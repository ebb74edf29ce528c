<?php
/**
 * Removes the plugin's options when it is deleted.
 *
 * @package Presence
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

delete_option( 'presence_server_url' );
delete_option( 'presence_internal_url' );
delete_option( 'presence_placement' );
delete_option( 'presence_idle_seconds' );
delete_option( 'presence_signing_secret' );
delete_option( 'presence_token_hours' );
delete_option( 'presence_notices_token' );
delete_post_meta_by_key( '_presence_notice_last' );
delete_post_meta_by_key( '_presence_notice_pending' );
delete_post_meta_by_key( '_presence_notify' );
